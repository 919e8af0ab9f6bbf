// The kubedrill server as the terminal benchmark runs it: host-mode shells, one static attempt,
// listening on 127.0.0.1:<port>. Started as a child process so its CPU time and RSS are its own.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { StaticAttempts } from '../../server/src/terminal/attempts.ts';
import { HostLauncher } from '../../server/src/terminal/launchers.ts';
import { SSH_SCRIPT } from '../../server/src/terminal/create-terminal-service.ts';

const port = Number(process.argv[2]);
const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-term-bench-'));
const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', dir, '--port', String(port), '--terminal.upgrades-per-minute', '1000'], env: {}, cwd: dir });
const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir };
const attempts = new StaticAttempts();
attempts.add({ id: 'bench', learnerId: 'local', clusterName: 'kdtest-term-bench', status: 'running' });
const app = await buildApp(boot, {
  db: openMemoryDatabase(),
  logger: false,
  attempts,
  shellLauncher: new HostLauncher({ runner: createCommandRunner(env), hostEnv: env, stateDir: path.join(dir, 'terminals'), sshScript: SSH_SCRIPT }),
});
await app.listen({ host: '127.0.0.1', port });
console.log('ready');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
