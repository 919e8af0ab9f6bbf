// The kubedrill server as the load test runs it: multi-user mode, the shipped labs, the real attempt
// service on a fake kind host (clusters are instant and free), host-mode shells, N seeded accounts.
// Started as a child process so its RSS is its own. Prints "ready <port>" when listening.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../../server/src/app.ts';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { hashPassword } from '../../server/src/auth/passwords.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { CommandError, createCommandRunner, type CommandRunner } from '../../server/src/exec/command-runner.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { HostLauncher } from '../../server/src/terminal/launchers.ts';
import { SSH_SCRIPT } from '../../server/src/terminal/create-terminal-service.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const port = Number(process.argv[2]);
const learners = Number(process.argv[3]);
const dir = mkdtempSync(path.join(tmpdir(), 'kd-load-'));
const boot = loadConfig({
  argv: [
    '--data-dir',
    dir,
    '--labs-dir',
    path.join(ROOT, 'labs'),
    '--port',
    String(port),
    '--auth.mode',
    'multi',
    '--auth.registration',
    'closed',
    '--log-level',
    'warn',
  ],
  env: {},
  cwd: ROOT,
});
const db = openMemoryDatabase();
const labs = new LabCatalog(path.join(ROOT, 'labs'), path.join(dir, 'cache'));
await labs.reload();
const h = harness({ db, labs: labs.current.labs, fake: { missingImages: [] }, clusters: { perLearner: 1, maxConcurrent: learners + 5 } });
const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir };
const real = createCommandRunner(env);
// The fake clusters have no kubeconfig to fetch; every other command is real (the shells).
const runner: CommandRunner = {
  run: (spec) => (spec.argv[0] === 'kind' ? Promise.reject(new CommandError('exit-code', spec.argv, 1, '', 'no such cluster')) : real.run(spec)),
};
const app = await buildApp(boot, {
  db,
  labs,
  logger: { level: 'warn' },
  attemptService: h.service,
  shellLauncher: new HostLauncher({ runner, hostEnv: env, stateDir: path.join(dir, 'terminals'), sshScript: SSH_SCRIPT }),
});
// Accounts are seeded (registration from one address is rate-limited, as it should be).
const hash = await hashPassword('load-test-password');
app.learners.createAccount({ username: 'teacher', displayName: 'Teacher', passwordHash: hash }, () => {});
for (let i = 0; i < learners; i++) app.learners.createAccount({ username: `learner${i}`, displayName: `Learner ${i}`, passwordHash: hash }, () => {});
await app.listen({ host: '127.0.0.1', port });
console.log(`ready ${port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
