import { Credentials, errors, NoContent, Registration, SessionDto } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner, SESSION_COOKIE, setSessionCookie } from '../../auth/plugin.ts';
import { hashPassword, verifyPassword } from '../../auth/passwords.ts';
import { AppError } from '../../errors.ts';
import { LoginThrottle, rateLimited } from '../../auth/throttle.ts';
import { RateLimiter } from '../../terminal/tickets.ts';
import { isExpired } from '../../groups/group-repository.ts';

/** Session endpoints: who am I, log in/out, register (multi-user mode). */
export default async function sessionRoutes(app: App) {
  const secure = app.config.publicUrl?.startsWith('https:') ?? false;
  const days = app.config.auth.sessionDays;
  const mode = app.config.auth.mode;
  const throttle = new LoginThrottle(app.now);
  // Each account costs a scrypt hash: a client may create a classroom's worth a minute, not a flood.
  const registrations = new RateLimiter(30, app.now);

  app.get(
    '/api/session',
    { schema: { tags: ['session'], summary: 'The current learner (single-user mode logs you in automatically)', response: { 200: SessionDto } } },
    async (req, reply) => {
      let learner = req.learner ?? null;
      if (!learner && mode === 'single') {
        learner = app.learners.local();
        const { token, expiresAt } = app.learners.createSession(learner.id, days);
        setSessionCookie(reply, token, expiresAt, secure);
      }
      return { mode, registration: app.config.auth.registration, learner };
    },
  );

  app.post(
    '/api/session/login',
    { schema: { tags: ['session'], summary: 'Log in with username and password', body: Credentials, response: { 200: SessionDto, ...errors(401, 429) } } },
    async (req, reply) => {
      if (mode === 'single') throw new AppError(400, 'single_user_mode', 'this server runs in single-user mode: there is nothing to log in to');
      // Checked before the password: while backing off, even the right password is refused.
      throttle.check(req.body.username, req.ip);
      const found = app.learners.byUsername(req.body.username);
      // Verify even for unknown users so timing does not reveal which usernames exist.
      const ok = await verifyPassword(
        req.body.password,
        found?.passwordHash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      );
      if (!found || !found.passwordHash || !ok) {
        throttle.failed(req.body.username, req.ip);
        throw new AppError(401, 'bad_credentials', 'wrong username or password');
      }
      throttle.succeeded(req.body.username);
      const { token, expiresAt } = app.learners.createSession(found.learner.id, days);
      setSessionCookie(reply, token, expiresAt, secure);
      return { mode, registration: app.config.auth.registration, learner: found.learner };
    },
  );

  app.post(
    '/api/session/register',
    {
      schema: {
        tags: ['session'],
        summary: 'Create an account (multi-user mode)',
        body: Registration,
        response: { 200: SessionDto, ...errors(403, 409, 429) },
      },
    },
    async (req, reply) => {
      if (mode === 'single') throw new AppError(400, 'single_user_mode', 'this server runs in single-user mode: accounts are not needed');
      throttle.check(undefined, req.ip);
      // The bucket refills one registration every 2 s: that is the wait to announce.
      if (!registrations.take(req.ip)) throw rateLimited('too many registrations from this address at once; try again in 2 s', 60_000 / 30);
      const { registration, inviteCode } = app.config.auth;
      // Cheap refusals before the (deliberately slow) hash; the transaction below decides for real.
      // A group's invite lets its learners in whatever auth.registration says (until the group ends).
      const group = req.body.inviteCode ? app.groups.byInviteCode(req.body.inviteCode) : undefined;
      if (group && isExpired(group)) throw new AppError(403, 'group_expired', `the group "${group.name}" has ended; its invite no longer works`);
      const gate = (first: boolean) => {
        // The very first account may always be created: it becomes the admin.
        if (first || group) return;
        if (registration === 'closed') throw new AppError(403, 'registration_closed', 'registration is closed; ask an admin for an account');
        if (registration === 'invite' && req.body.inviteCode !== inviteCode) {
          throttle.failed(undefined, req.ip);
          throw new AppError(403, 'bad_invite_code', 'the invite code is wrong');
        }
      };
      gate(app.learners.count() === 0);
      const passwordHash = await hashPassword(req.body.password);
      // First-admin, the invite check and the name's uniqueness are decided in one transaction.
      const learner = app.learners.createAccount({ username: req.body.username, displayName: req.body.displayName ?? req.body.username, passwordHash }, gate);
      if (group) app.groups.addMember(group.id, learner.id, 'learner');
      const { token, expiresAt } = app.learners.createSession(learner.id, days);
      setSessionCookie(reply, token, expiresAt, secure);
      return { mode, registration, learner };
    },
  );

  app.post(
    '/api/session/logout',
    { schema: { tags: ['session'], summary: 'End the session', response: { 204: NoContent, ...errors(401) } } },
    async (req, reply) => {
      requireLearner(req);
      if (req.sessionToken) app.learners.deleteSession(req.sessionToken);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
}
