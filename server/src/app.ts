import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type * as KubePortModule from '../../graders/src/cluster/kube-port.ts';
import { createKubeconfigScriptRunner } from '../../graders/src/cluster/script-runner.ts';
import type { ClusterPort } from '../../graders/src/cluster/port.ts';
import type { App } from './app-types.ts';
import { terminalAttempts } from './attempts/adapters.ts';
import type { AttemptService } from './attempts/attempt-service.ts';
import { createAttemptService } from './attempts/create-attempt-service.ts';
import { LearnerRepository } from './auth/learners.ts';
import { authPlugin } from './auth/plugin.ts';
import { allowedOrigins, trustProxyOption, type BootInfo } from './config/config.ts';
import { BODY_ERROR_STATUSES, COMMON_ERROR_STATUSES, ErrorDto, STATUS_CODES } from './api-contract.ts';
import { AppError } from './errors.ts';
import { contractCheck } from './http/contract-check.ts';
import { createCommandRunner, type CommandRunner } from './exec/command-runner.ts';
import { LabCatalog } from './labs/catalog-service.ts';
import adminHealthRoutes from './routes/api/admin-health.ts';
import attemptRoutes from './routes/api/attempts.ts';
import healthRoutes from './routes/api/health.ts';
import labRoutes from './routes/api/labs.ts';
import sessionRoutes from './routes/api/session.ts';
import terminalRoutes, { websocketOptions } from './routes/api/terminals.ts';
import { lockDataDir, openDatabase, type Db } from './storage/db.ts';
import type { TerminalAttempts } from './terminal/attempts.ts';
import type { ShellLauncher } from './terminal/launchers.ts';
import { createTerminalService } from './terminal/create-terminal-service.ts';
import { GradeRepository } from './grading/grade-repository.ts';
import { GradingService } from './grading/grading-service.ts';
import attemptGradeRoutes from './routes/api/attempt-grades.ts';
import examRoutes from './routes/api/exams.ts';
import progressRoutes from './routes/api/progress.ts';
import { VERSION } from './version.ts';
import { hardening } from './http/hardening.ts';
import { GroupRepository } from './groups/group-repository.ts';
import groupRoutes from './routes/api/groups.ts';
import labBodyRoutes from './routes/api/lab-body.ts';
import groupWatchRoutes from './routes/api/group-watch.ts';
import adminUsageRoutes from './routes/api/admin-usage.ts';
import { dockerUnavailable } from './http/docker-errors.ts';
import { combinedAttempts } from './terminal/attempts.ts';
import { createExams, type Exams } from './exams/create-exams.ts';

/** What buildApp needs besides config; tests pass fakes, main() passes the real things. */
export interface AppDeps {
  db?: Db;
  runner?: CommandRunner;
  labs?: LabCatalog;
  /** The attempt service (default: built from config with the real kind driver). */
  attemptService?: AttemptService;
  /** A cluster port for a kubeconfig file; default: @kubernetes/client-node. */
  portFor?: (kubeconfigPath: string) => ClusterPort;
  /** Grading; default: the engine on the attempt service's clusters through portFor. */
  grading?: GradingService;
  /** Attempts as the terminal sees them; default: the attempt service's. */
  attempts?: TerminalAttempts;
  /** The mock exams folder's catalog and service (default: built from config on the attempt service). */
  exams?: Exams;
  /** Where shells run; default from config (terminal.mode); null disables terminals. */
  shellLauncher?: ShellLauncher | null;
  /** Fastify logger option; tests usually pass false. */
  logger?: FastifyServerOptions['logger'];
  /** The clock of rate limits and back-offs (tests freeze it instead of racing real time). */
  now?: () => number;
  /**
   * Check every API answer against the schema its route declares for that status (tests turn this
   * on): an undeclared status or a body the schema refuses becomes a 500 `contract_violation`.
   */
  checkResponses?: boolean;
}

// One client per kubeconfig file: the provisioner and grading talk to the same clusters over and over.
// @kubernetes/client-node costs ~90 MB of resident memory once imported, so it is loaded when a
// cluster is first talked to, not at start-up (a server that only serves labs never pays for it).
function cachedKubePorts(): (kubeconfigPath: string) => ClusterPort {
  let adapter: Promise<typeof KubePortModule> | undefined;
  const ports = new Map<string, Promise<ClusterPort>>();
  const real = (kubeconfigPath: string): Promise<ClusterPort> => {
    let port = ports.get(kubeconfigPath);
    if (!port) {
      if (ports.size > 256) ports.clear();
      adapter ??= import('../../graders/src/cluster/kube-port.ts');
      port = adapter.then((m) => m.createKubePort(kubeconfigPath));
      // A kubeconfig that cannot be read now may exist later: do not keep the failure.
      port.catch(() => ports.delete(kubeconfigPath));
      ports.set(kubeconfigPath, port);
    }
    return port;
  };
  return (kubeconfigPath) => ({
    get: async (ref, opts) => (await real(kubeconfigPath)).get(ref, opts),
    list: async (query, opts) => (await real(kubeconfigPath)).list(query, opts),
    exec: async (pod, argv, opts) => (await real(kubeconfigPath)).exec(pod, argv, opts),
    apply: async (objects, opts) => (await real(kubeconfigPath)).apply(objects, opts),
    create: async (obj, opts) => {
      const port = await real(kubeconfigPath);
      if (!port.create) throw new Error('this cluster port cannot create objects');
      return port.create(obj, opts);
    },
  });
}

/** Builds the whole app (plugins, services, routes); tests call this and use app.inject(). */
export async function buildApp(boot: BootInfo, deps: AppDeps = {}): Promise<App> {
  const { config } = boot;
  const app = Fastify({
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]', '*.kubeconfig', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
    bodyLimit: 1024 * 1024,
    // Behind a reverse proxy, req.ip is the client's address only if the operator says whom to trust.
    trustProxy: trustProxyOption(config.trustProxy),
    // A client must send its whole request (headers and body) within this; a trickled body cannot
    // hold a connection (and its memory) open. Checked every 2 s rather than Node's default 30 s.
    requestTimeout: 30_000,
    http: { headersTimeout: 15_000, connectionsCheckingInterval: 2_000 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Errors any API route may answer are part of every route's contract (and of the OpenAPI document).
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || route.schema?.hide) return;
    const hasBody = !['GET', 'HEAD', 'DELETE'].includes(String(route.method));
    const response = { ...(route.schema?.response as Record<string, unknown> | undefined) };
    for (const status of [...COMMON_ERROR_STATUSES, ...(hasBody ? BODY_ERROR_STATUSES : [])]) response[status] ??= ErrorDto;
    route.schema = { ...route.schema, response };
  });
  if (deps.checkResponses) app.addHook('onSend', contractCheck);

  // The data folder is this server's alone (before anything reads it): see lockDataDir.
  const unlock = deps.db ? undefined : lockDataDir(config.dataDir);
  let db: Db;
  try {
    db = deps.db ?? openDatabase(config.dataDir);
  } catch (e) {
    unlock?.();
    throw e;
  }
  const labs = deps.labs ?? new LabCatalog(config.labsDir, path.join(config.dataDir, 'cache'), config.scenariosDir ? [config.scenariosDir] : []);
  if (!deps.labs) await labs.reload();
  app.decorate('config', config);
  app.decorate('now', deps.now ?? Date.now);
  app.decorate('db', db);
  app.decorate('labs', labs);
  app.decorate('learners', new LearnerRepository(db));
  app.decorate('groups', new GroupRepository(db));
  app.decorate('runner', deps.runner ?? createCommandRunner(boot.hostEnv));
  app.decorate('origins', new Set(allowedOrigins(config)));
  if (!deps.db) app.addHook('onClose', async () => db.close());
  if (unlock) app.addHook('onClose', async () => unlock());
  const portFor = deps.portFor ?? cachedKubePorts();
  // Mock exams (server/src/exams): read after the labs they compose; their cluster shapes join the warm pool.
  let exams: Exams | undefined = deps.exams;
  const examShapes = () => exams?.shapes() ?? [];
  const attempts =
    deps.attemptService ??
    createAttemptService(config, {
      db,
      runner: app.runner,
      labs,
      portFor,
      log: app.log,
      extraPoolShapes: examShapes,
      extraPoolImages: (shape) => exams?.images(shape) ?? [],
      examClusters: (examId) => exams?.clusterRecipes(examId),
      // The terminal service is made after the attempts: its spare workstations are looked up when a cluster is set up in advance.
      spareWorkstations: () => terminals?.spares,
      // The terminal service is made after the attempts (it needs them): looked up when a scenario sets up.
      workstationFor: (attemptId) => terminals.hostAccess(attemptId).workstation,
    });
  app.decorate('attempts', attempts);
  app.addHook('preClose', async () => attempts.close());
  // Node access comes from the terminal service, made after the exams (it needs their terminals): looked up when grading.
  exams ??= createExams(config, {
    db,
    labs,
    attempts,
    portFor,
    scriptsFor: (kubeconfigPath) => createKubeconfigScriptRunner(app.runner, kubeconfigPath, { path: boot.hostEnv.PATH }),
    nodesFor: (attemptId) => terminals.hostAccess(attemptId).nodes,
    log: app.log,
  });
  app.decorate('exams', exams.service);
  app.decorate('examCatalog', exams.catalog);
  app.addHook('preClose', async () => exams!.service.close());
  const terminals = await createTerminalService(boot, {
    runner: app.runner,
    attempts: combinedAttempts(deps.attempts ?? terminalAttempts(attempts), exams.terminalAttempts),
    launcher: deps.shellLauncher,
    log: app.log,
    now: app.now,
  });
  app.decorate('terminals', terminals);
  app.addHook('preClose', async () => terminals.close());
  const grading =
    deps.grading ??
    new GradingService({
      attempts,
      labs,
      grades: new GradeRepository(db),
      portFor,
      scriptsFor: (kubeconfigPath) => createKubeconfigScriptRunner(app.runner, kubeconfigPath, { path: boot.hostEnv.PATH }),
      hostsFor: (attemptId) => terminals.hostAccess(attemptId),
      log: app.log,
      stepSetupTimeoutMs: config.clusters.setupTimeoutMinutes * 60_000,
    });
  app.decorate('grading', grading);
  exams.service.onInputLock((id, reason) => terminals.setInputLocked(id, reason));

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      const retry = err.details?.retryAfterSeconds;
      if (err.status === 429 && typeof retry === 'number') reply.header('retry-after', String(retry));
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const where = `${err.validationContext ?? 'request'}${first?.instancePath ? first.instancePath.replaceAll('/', '.') : ''}`;
      return reply.code(400).send({ error: { code: 'bad_request', message: `${where}: ${first?.message ?? 'invalid'}` } });
    }
    const docker = dockerUnavailable(err);
    if (docker) {
      req.log.error({ err }, 'docker is not available');
      return reply.code(503).send({ error: { code: 'docker_unavailable', message: docker } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
    }
    // Fastify's own errors (FST_ERR_…) are implementation names; clients get stable, documented codes.
    const code = err.code && !err.code.startsWith('FST_') ? err.code : ((STATUS_CODES as Record<number, string>)[status] ?? 'bad_request');
    return reply.code(status).send({ error: { code, message: err.message } });
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'kubedrill API', version: VERSION, description: 'Labs, attempts, grading and terminals of a kubedrill server.' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(hardening, { webDir: config.webDir });
  await app.register(authPlugin);
  await app.register(fastifyWebsocket, websocketOptions);

  await app.register(healthRoutes);
  await app.register(sessionRoutes);
  await app.register(labRoutes);
  await app.register(terminalRoutes);
  await app.register(attemptGradeRoutes(grading));
  await app.register(progressRoutes);
  await app.register(attemptRoutes);
  await app.register(adminHealthRoutes);
  await app.register(groupRoutes);
  await app.register(labBodyRoutes);
  await app.register(groupWatchRoutes);
  await app.register(adminUsageRoutes);
  await app.register(examRoutes(exams.service, exams.catalog));

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const webBuilt = existsSync(path.join(config.webDir, 'index.html'));
  if (webBuilt) {
    await app.register(fastifyStatic, {
      root: config.webDir,
      wildcard: false,
      index: false,
      cacheControl: false,
      // Hashed assets never change under their name; everything else (index.html above all) must be
      // revalidated, or a browser keeps the old page, pointing at assets gone after an upgrade.
      setHeaders: (res, file) =>
        res.header('cache-control', file.startsWith(path.join(config.webDir, 'assets') + path.sep) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    });
  }
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/') || req.method !== 'GET') {
      return reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
    }
    if (webBuilt) {
      // Assets have hashed names; a missing one is a real 404, every other path is a page of the app.
      if (req.url.startsWith('/assets/')) return reply.code(404).send('not found');
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return reply
      .code(503)
      .type('text/html')
      .send(
        '<!doctype html><title>kubedrill</title><p>The web app is not built. Run <code>scripts/start</code> (it builds it) or <code>npm run build:web</code>.</p><p>The API is up: <a href="/api/health">/api/health</a>.</p>',
      );
  });

  return app as unknown as App;
}
