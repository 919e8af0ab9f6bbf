import fastifyCookie from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { LOCAL_LEARNER_ID, type Learner, type Role } from './learners.ts';

export const SESSION_COOKIE = 'kd_session';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Cookie parsing, session → learner resolution and the origin check for state-changing requests. */
export const authPlugin = fp(async (app) => {
  await app.register(fastifyCookie);
  app.decorateRequest('learner', undefined);
  app.decorateRequest('sessionToken', undefined);
  const multi = app.config.auth.mode === 'multi';
  // A data folder used in single-user mode holds sessions of the password-less local admin; in
  // multi-user mode they would let anyone with such a cookie in as admin.
  if (multi) app.learners.dropPasswordlessSessions();
  // Expired sessions are deleted at start and then hourly, so the table does not grow for ever.
  app.learners.pruneSessions();
  const pruning = setInterval(() => app.learners.pruneSessions(), 3_600_000);
  pruning.unref();
  app.addHook('onClose', async () => clearInterval(pruning));

  app.addHook('onRequest', async (req) => {
    // Browsers send Origin on cross-site requests and on every POST; refuse foreign ones (CSRF).
    const origin = req.headers.origin;
    if (UNSAFE.has(req.method) && origin !== undefined && !app.origins.has(origin)) {
      throw new AppError(403, 'origin_not_allowed', `requests from origin ${origin} are not allowed; add it to allowedOrigins`);
    }
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      const learner = app.learners.learnerForToken(token);
      if (learner && !(multi && learner.id === LOCAL_LEARNER_ID)) {
        req.learner = learner;
        req.sessionToken = token;
      }
    }
  });
});

/** The logged-in learner, or a 401 that tells the browser to log in. */
export function requireLearner(req: FastifyRequest): Learner {
  if (!req.learner) throw new AppError(401, 'unauthenticated', 'log in first');
  return req.learner;
}

/** The logged-in learner if they have one of the roles, else 401/403. */
export function requireRole(req: FastifyRequest, ...roles: Role[]): Learner {
  const learner = requireLearner(req);
  if (!roles.includes(learner.role)) throw new AppError(403, 'forbidden', `this needs the ${roles.join(' or ')} role`);
  return learner;
}

/** Sets the session cookie (httpOnly, SameSite=Lax; Secure when served over https). */
export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: Date, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires: expiresAt });
}
