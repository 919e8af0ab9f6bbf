import { buildApp } from './app.ts';
import { ConfigError, configHelp, loadConfig } from './config/config.ts';
import { DataDirError } from './storage/db.ts';

// Thin entry point: config, listen, graceful close. Everything else lives in buildApp().

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(configHelp());
    return;
  }
  let boot;
  try {
    boot = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`kubedrill: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  let app;
  try {
    app = await buildApp(boot);
  } catch (e) {
    // An unusable data folder is the operator's to fix: one line that names the path, no stack.
    if (e instanceof DataDirError) {
      console.error(`kubedrill: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  for (const name of boot.unknownEnv) app.log.warn({ variable: name }, 'ignoring an environment variable that matches no config key (see --help)');
  const { labs, broken, problems } = app.labs.current;
  app.log.info(
    { labs: labs.length, broken: broken.length, ms: Math.round(app.labs.loadMs) },
    broken.length ? 'loaded the labs; some are broken (run npm run labs:check)' : 'loaded the labs',
  );
  for (const p of problems) app.log.warn({ at: `${p.file}:${p.line}:${p.col}` }, p.message);

  // Clusters left by a crash are adopted or deleted before anyone can start a lab.
  try {
    const r = await app.attempts.reconcile();
    app.log.info(
      { adopted: r.adopted.length, deleted: r.deleted.length, failed: r.failed.length },
      'clusters: start-up reconcile adopted running attempts, deleted leftovers and failed interrupted attempts',
    );
    const e = app.exams.reconcile();
    if (e.resumed.length) app.log.info({ resumed: e.resumed.length }, 'exams: resumed exam attempts');
  } catch (e) {
    app.log.warn({ error: (e as Error).message.split('\n')[0] }, 'clusters: start-up reconcile skipped (run npm run doctor)');
  }

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));

  const { host, port } = boot.config;
  try {
    await app.listen({ host, port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') console.error(`kubedrill: port ${port} on ${host} is already in use; choose another with --port or KUBEDRILL_PORT`);
    else if (code === 'EACCES') console.error(`kubedrill: not allowed to listen on ${host}:${port}; use a port above 1023`);
    else console.error(`kubedrill: cannot listen on ${host}:${port}: ${(e as Error).message}`);
    process.exit(1);
  }
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`kubedrill ${boot.config.auth.mode}-user server ready: http://${shown}:${port}/`);
}

await main();
