import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { BootInfo } from '../config/config.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { TerminalAttempts } from './attempts.ts';
import { ContainerLauncher, HostLauncher, type ShellLauncher } from './launchers.ts';
import { TerminalService } from './terminal-service.ts';

/** The workstation's ssh script; host mode reuses it so `ssh <node>` behaves the same. */
export const SSH_SCRIPT = path.resolve(import.meta.dirname, '../../../scripts/images/workstation/files/usr/local/bin/ssh');

/** Picks the launcher the config asks for; auto means container mode when Docker answers (never host). */
export async function createLauncher(boot: BootInfo, runner: CommandRunner): Promise<{ launcher?: ShellLauncher; reason?: string }> {
  const { config, hostEnv } = boot;
  const t = config.terminal;
  if (t.mode === 'host') return { launcher: new HostLauncher({ runner, hostEnv, stateDir: path.join(config.dataDir, 'terminals'), sshScript: SSH_SCRIPT }) };
  const container = new ContainerLauncher({ runner, hostEnv, image: t.workstationImage, network: t.network, namePrefix: config.clusters.namePrefix });
  if (t.mode === 'container') return { launcher: container };
  try {
    await runner.run({ argv: ['docker', 'version', '--format', '{{.Server.Version}}'], timeoutMs: 5000 });
    return { launcher: container };
  } catch {
    return { reason: 'Docker is not available on this server, so no workstation can start (terminal.mode=auto); see scripts/setup-host' };
  }
}

/** Builds the terminal service from config; the launcher and attempts can be injected (tests, the lead's wiring). */
export async function createTerminalService(
  boot: BootInfo,
  deps: { runner: CommandRunner; attempts: TerminalAttempts; launcher?: ShellLauncher | null; log: FastifyBaseLogger; now?: () => number },
): Promise<TerminalService> {
  const picked =
    deps.launcher === undefined ? await createLauncher(boot, deps.runner) : { launcher: deps.launcher ?? undefined, reason: 'terminals are disabled' };
  const t = boot.config.terminal;
  const service = new TerminalService({
    attempts: deps.attempts,
    launcher: picked.launcher,
    ...(picked.reason ? { unavailableReason: picked.reason } : {}),
    log: deps.log,
    limits: { replayBytes: t.replayKiB * 1024 },
    idleMs: t.idleMinutes * 60_000,
    maxPerAttempt: t.maxPerAttempt,
    ticketMs: t.ticketSeconds * 1000,
    upgradesPerMinute: t.upgradesPerMinute,
    ...(deps.now ? { now: deps.now } : {}),
  });
  if (picked.launcher instanceof ContainerLauncher) {
    const launcher = picked.launcher;
    // Workstations left by a crash whose attempt is gone or ended are deleted in the background.
    void launcher
      .reap(async (id) => (await deps.attempts.get(id))?.status === 'running')
      .then((removed) => removed.length && deps.log.info({ count: removed.length }, 'removed leftover workstations'))
      .catch(() => {});
  }
  return service;
}
