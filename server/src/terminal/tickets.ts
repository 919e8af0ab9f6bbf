import { createHash, randomBytes } from 'node:crypto';

/** What a ticket lets its holder do: open one terminal of one attempt, as one learner. */
export interface TicketGrant {
  learnerId: string;
  attemptId: string;
  terminalId: string;
  /** Set for an instructor watching a learner's terminal: their name, shown to the learner; read-only. */
  watcher?: string;
}

export type TicketCheck = { ok: true; watcher?: string } | { ok: false; why: 'unknown' | 'expired' | 'mismatch' };

const hash = (t: string) => createHash('sha256').update(t).digest('base64url');

/** Short-lived, single-use tickets for terminal WebSocket upgrades (only hashes are kept). */
export class TicketStore {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #tickets = new Map<string, TicketGrant & { expiresAt: number }>();

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Issues a ticket; the secret is returned once and never stored. */
  issue(grant: TicketGrant): { ticket: string; expiresAt: Date } {
    this.#prune();
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.#now() + this.#ttlMs;
    this.#tickets.set(hash(ticket), { ...grant, expiresAt });
    return { ticket, expiresAt: new Date(expiresAt) };
  }

  /** Uses up a ticket (whatever the outcome) and says whether it grants exactly this. */
  consume(ticket: string, want: Omit<TicketGrant, 'watcher'>): TicketCheck {
    const key = hash(ticket);
    const t = this.#tickets.get(key);
    if (!t) return { ok: false, why: 'unknown' };
    this.#tickets.delete(key);
    if (t.expiresAt <= this.#now()) return { ok: false, why: 'expired' };
    if (t.learnerId !== want.learnerId || t.attemptId !== want.attemptId || t.terminalId !== want.terminalId) return { ok: false, why: 'mismatch' };
    return t.watcher ? { ok: true, watcher: t.watcher } : { ok: true };
  }

  #prune(): void {
    const now = this.#now();
    for (const [k, t] of this.#tickets) if (t.expiresAt <= now) this.#tickets.delete(k);
  }
}

/** Token buckets per key (learner, IP): `perMinute` events per minute with bursts of the same size. */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perMinute: number, now: () => number = Date.now) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Whether `key` has a token left, without taking it. */
  available(key: string): boolean {
    return this.#refill(key).tokens >= 1;
  }

  #refill(key: string): { tokens: number; at: number } {
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#perMinute, at: now };
    b.tokens = Math.min(this.#perMinute, b.tokens + ((now - b.at) * this.#perMinute) / 60_000);
    b.at = now;
    return b;
  }

  /** Takes one token for `key`; false when the key is over its rate. */
  take(key: string): boolean {
    const b = this.#refill(key);
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 10_000) {
      for (const [k, v] of this.#buckets) if (v.tokens >= this.#perMinute - 1) this.#buckets.delete(k);
    }
    return ok;
  }
}
