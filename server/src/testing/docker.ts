import type { CommandRunner } from '../exec/command-runner.ts';

/** Why a Docker suite must skip here, or undefined when the Docker daemon answers. */
export async function dockerSkipReason(runner: CommandRunner): Promise<string | undefined> {
  try {
    await runner.run({ argv: ['docker', 'info', '--format', '{{.ServerVersion}}'], timeoutMs: 120_000 });
    return undefined;
  } catch {
    return 'Docker is not available (scripts/setup-host installs and starts it)';
  }
}
