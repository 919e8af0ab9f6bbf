import { CommandError } from '../exec/command-runner.ts';

const DAEMON_DOWN =
  /Cannot connect to the Docker daemon|Is the docker daemon running|permission denied while trying to connect to the Docker daemon|error during connect/i;

/**
 * When err (or an error it wraps) is Docker or kind failing because Docker itself cannot be
 * reached, the one-line message for a 503: the server is fine, its container engine is not.
 */
export function dockerUnavailable(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (!(e instanceof CommandError)) continue;
    const program = e.argv[0] ?? '';
    if (!/(^|\/)(docker|kind)$/.test(program)) continue;
    if (e.reason === 'not-found')
      return `${program} is not installed on this server, so clusters and terminals cannot start; an operator must install it (see scripts/setup-host)`;
    if (DAEMON_DOWN.test(e.stderr) || DAEMON_DOWN.test(e.stdout))
      return 'Docker is not running on this server, so clusters and terminals cannot start; an operator must start it (npm run doctor says more)';
  }
  return undefined;
}
