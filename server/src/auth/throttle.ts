import { AppError } from '../errors.ts';

/** How a Backoff counts failures: `free` failures are forgiven, then each one doubles the wait from baseMs up to maxMs. */
export interface BackoffPolicy {
  free: number;
  baseMs: number;
  maxMs: number;
  /** Failures are forgotten once this long has passed since the last one. */
  forgetMs: number;
}

/** Failure counts per key (an account, a client address) with exponential backoff; in memory, bounded. */
export class Backoff {
  readonly #p: BackoffPolicy;
  readonly #now: () => number;
  readonly #entries = new Map<string, { failures: number; last: number; until: number }>();

  constructor(policy: BackoffPolicy, now: () => number = Date.now) {
    this.#p = policy;
    this.#now = now;
  }

  /** Milliseconds until `key` may try again (0: now). */
  waitMs(key: string): number {
    const e = this.#live(key);
    return e ? Math.max(0, e.until - this.#now()) : 0;
  }

  /** Counts a failure for `key`. */
  fail(key: string): void {
    const now = this.#now();
    const e = this.#live(key) ?? { failures: 0, last: now, until: 0 };
    e.failures++;
    e.last = now;
    const over = e.failures - this.#p.free;
    if (over > 0) e.until = now + Math.min(this.#p.maxMs, this.#p.baseMs * 2 ** Math.min(over - 1, 30));
    this.#entries.set(key, e);
    if (this.#entries.size > 50_000) this.#prune();
  }

  /** Forgets the failures of `key` (a successful login). */
  reset(key: string): void {
    this.#entries.delete(key);
  }

  #live(key: string) {
    const e = this.#entries.get(key);
    if (e && this.#now() - e.last > this.#p.forgetMs && this.#now() >= e.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  #prune() {
    for (const key of [...this.#entries.keys()]) this.#live(key);
  }
}

/** A 429 with the one code the API uses for every rate limit, and Retry-After in seconds. */
export function rateLimited(message: string, waitMs: number): AppError {
  return new AppError(429, 'rate_limited', message, { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
}

/**
 * Login and registration throttling. Per account, so guessing one learner's password slows down
 * after a few tries whatever address it comes from; per client address, so one client cannot try
 * many accounts (a classroom behind one NAT address shares it, hence the larger allowance).
 */
export class LoginThrottle {
  readonly accounts: Backoff;
  readonly clients: Backoff;

  constructor(now: () => number = Date.now) {
    this.accounts = new Backoff({ free: 5, baseMs: 1000, maxMs: 15 * 60_000, forgetMs: 15 * 60_000 }, now);
    this.clients = new Backoff({ free: 30, baseMs: 1000, maxMs: 15 * 60_000, forgetMs: 15 * 60_000 }, now);
  }

  /** Throws a 429 when the account or the client must wait; call before checking a password. */
  check(account: string | undefined, client: string): void {
    const wait = Math.max(account === undefined ? 0 : this.accounts.waitMs(account.toLowerCase()), this.clients.waitMs(client));
    if (wait > 0) throw rateLimited(`too many failed attempts; try again in ${Math.ceil(wait / 1000)} s`, wait);
  }

  /** Counts a failed login (wrong password, bad invite code). */
  failed(account: string | undefined, client: string): void {
    if (account !== undefined) this.accounts.fail(account.toLowerCase());
    this.clients.fail(client);
  }

  /** A successful login clears the account's failures; the client's stay (they decay with time). */
  succeeded(account: string): void {
    this.accounts.reset(account.toLowerCase());
  }
}
