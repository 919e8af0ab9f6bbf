// Small helpers the whole project shares. They live in graders because graders import nothing of
// ours (eslint.config.js): the server, the scripts and the tests may all import them from here.

/** Turns anything thrown into a message fit for one log or error line. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
