// npm run doctor [-- --key=value …] — checks that this host can run kind clusters for labs (Docker,
// cgroup version, kind, kubectl, inotify limits, memory, disk, node image), each with a remedy.
// Exit 1 when a check fails.
import { ConfigError, loadConfig } from '../server/src/config/config.ts';
import { runDoctor } from '../server/src/doctor/doctor.ts';
import { createCommandRunner } from '../server/src/exec/command-runner.ts';

let boot;
try {
  boot = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`doctor: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const checks = await runDoctor(boot.config, { runner: createCommandRunner(boot.hostEnv) });
const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
for (const c of checks) {
  console.log(`${mark[c.status]} ${c.title}: ${c.detail}`);
  if (c.remedy) console.log(`    → ${c.remedy}`);
}
const failed = checks.filter((c) => c.status === 'fail').length;
const warned = checks.filter((c) => c.status === 'warn').length;
console.log(
  failed
    ? `\n${failed} problem(s) stop labs from starting on this host.`
    : warned
      ? `\nLabs can start; ${warned} warning(s) above.`
      : '\nThis host is ready to run labs.',
);
process.exit(failed ? 1 : 0);
