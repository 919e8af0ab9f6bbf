// Small helpers the whole project shares. They live in graders because graders import nothing of
// ours (eslint.config.js): the server, the scripts and the tests may all import them from here.
import { setTimeout as wait } from 'node:timers/promises';

/**
 * Waits ms, or less when signal aborts first. It resolves then instead of rejecting, so a polling
 * loop sees signal.aborted at its next turn and ends the way it ends at its own deadline. (A plain
 * pause without a signal is node:timers/promises' setTimeout.)
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  await wait(ms, undefined, signal ? { signal } : undefined).catch((e: unknown) => {
    if (!signal?.aborted) throw e;
  });
}
