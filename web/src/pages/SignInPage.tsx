import { useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from '../api/client.ts';

/** Sign in or create an account (multi-user mode); an invite link (?invite=…) opens the register form with its code. */
export function SignInPage({ session, invite, onSignedIn }: { session: Session; invite: string | null; onSignedIn: (s: Session) => void }) {
  const [mode, setMode] = useState<'signin' | 'register'>(invite ? 'register' : 'signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [inviteCode, setInviteCode] = useState(invite ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s =
        mode === 'signin'
          ? await api.session.login(username, password)
          : await api.session.register({ username, password, ...(displayName ? { displayName } : {}), ...(inviteCode ? { inviteCode } : {}) });
      onSignedIn(s);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  // With registration closed, only the very first account (the admin) or an invite gets in; the
  // server says which in its error, so the form is always offered.
  return (
    <div className="page signin">
      <h1>{mode === 'signin' ? 'Sign in' : 'Create your account'}</h1>
      {invite && mode === 'register' ? <p className="muted">You were invited to a study group: choose a username and password to join it.</p> : null}
      <form className="panel signin-form" onSubmit={(e) => void submit(e)}>
        <label>
          Username
          <input className="input" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input
            className="input"
            type="password"
            autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 10 : 1}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {mode === 'register' ? (
          <>
            <label>
              Name shown to your group <span className="muted">(optional)</span>
              <input className="input" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
            </label>
            {session.registration !== 'open' || invite ? (
              <label>
                Invite code
                <input className="input" value={inviteCode} onChange={(e) => setInviteCode(e.target.value)} />
              </label>
            ) : null}
          </>
        ) : null}
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {mode === 'signin' ? 'Sign in' : 'Create account'}
        </button>
      </form>
      <p>
        {mode === 'signin' ? 'No account yet? ' : 'Have an account? '}
        <button type="button" className="btn btn-ghost btn-small" onClick={() => setMode(mode === 'signin' ? 'register' : 'signin')}>
          {mode === 'signin' ? 'Create one' : 'Sign in'}
        </button>
      </p>
    </div>
  );
}
