import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `holds` until it is true, failing with `what` after `timeoutMs`. Only for a state that no
 * event announces (a process that is not our child leaving /proc): wait on the event when there is one.
 */
export async function eventually(holds: () => boolean, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!holds()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
