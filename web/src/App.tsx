import { useEffect } from 'react';
import { api } from './api/client.ts';
import { useTheme } from './lib/theme.ts';
import { Link, matchPath, navigate, useLocation } from './lib/router.tsx';
import { useAsync } from './lib/use-async.ts';
import { AdminHealthPage } from './pages/AdminHealthPage.tsx';
import { CatalogPage } from './pages/CatalogPage.tsx';
import { ExamAttemptPage } from './pages/ExamAttemptPage.tsx';
import { ExamsPage } from './pages/ExamsPage.tsx';
import { HistoryPage } from './pages/HistoryPage.tsx';
import { GroupPage, GroupsPage } from './pages/GroupsPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';
import { LabPage } from './pages/LabPage.tsx';

/** The app shell: header, theme toggle, and the page for the current path. */
export function App() {
  const { pathname, search } = useLocation();
  const [theme, setTheme] = useTheme();
  const session = useAsync((signal) => api.session.get(signal), []);

  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);

  let page;
  const lab = matchPath('/labs/:id', pathname);
  const examAttempt = matchPath('/exams/attempts/:id', pathname);
  const group = matchPath('/groups/:id', pathname);
  const isAdmin = session.status === 'ok' && session.value.learner?.role === 'admin';
  const learner = session.status === 'ok' ? session.value.learner : null;
  const invite = search.get('invite');
  if (session.status === 'ok' && session.value.mode === 'multi' && !learner)
    page = (
      <SignInPage
        session={session.value}
        invite={invite}
        onSignedIn={() => {
          // Registering with an invite already joined its group: drop the code from the address.
          if (invite) navigate(pathname, { replace: true });
          session.reload();
        }}
      />
    );
  else if (learner && invite) page = <GroupsPage learner={learner} joinCode={invite} />;
  else if (pathname === '/') page = <CatalogPage withAssignments={session.status === 'ok' && session.value.mode === 'multi' && Boolean(learner)} />;
  else if (pathname === '/groups' && learner) page = <GroupsPage learner={learner} joinCode={null} />;
  else if (group) page = <GroupPage id={group.id!} key={group.id} />;
  else if (pathname === '/admin/health') page = <AdminHealthPage />;
  else if (lab) page = <LabPage id={lab.id!} key={lab.id} />;
  else if (pathname === '/exams') page = <ExamsPage />;
  else if (examAttempt) page = <ExamAttemptPage id={examAttempt.id!} key={examAttempt.id} />;
  else if (pathname === '/history') page = <HistoryPage />;
  else
    page = (
      <div className="page">
        <h1>Page not found</h1>
        <p>
          <Link to="/">Back to all labs</Link>
        </p>
      </div>
    );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="kubedrill home">
          <span className="brand-mark" aria-hidden>
            k
          </span>
          kubedrill
        </Link>
        <nav className="topnav" aria-label="Main">
          <Link to="/" aria-current={pathname === '/' ? 'page' : undefined}>
            Labs
          </Link>
          <Link to="/exams" aria-current={pathname.startsWith('/exams') ? 'page' : undefined}>
            Exams
          </Link>
          <Link to="/history" aria-current={pathname === '/history' ? 'page' : undefined}>
            History
          </Link>
          {session.status === 'ok' && session.value.mode === 'multi' && learner ? (
            <Link to="/groups" aria-current={pathname.startsWith('/groups') ? 'page' : undefined}>
              Groups
            </Link>
          ) : null}
          {isAdmin ? (
            <Link to="/admin/health" aria-current={pathname === '/admin/health' ? 'page' : undefined}>
              Host health
            </Link>
          ) : null}
        </nav>
        <div className="topbar-right">
          {session.status === 'ok' && session.value.learner ? (
            <span className="muted" title={`signed in as ${session.value.learner.username} (${session.value.learner.role})`}>
              {session.value.learner.displayName}
            </span>
          ) : null}
          {session.status === 'ok' && session.value.mode === 'multi' && learner ? (
            <button type="button" className="btn btn-ghost btn-small" onClick={() => void api.session.logout().then(() => session.reload())}>
              Sign out
            </button>
          ) : null}
          <button
            type="button"
            className="btn btn-ghost btn-icon"
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
