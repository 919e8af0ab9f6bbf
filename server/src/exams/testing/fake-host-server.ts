// A kubedrill server on a fake kind host whose clusters live in a state file, with in-memory model
// clusters for setup and grading: what a test needs to kill -9 a server mid-exam and start another
// on the same data folder and "host". Usage: node fake-host-server.ts <dataDir> <stateFile> <port>
import path from 'node:path';
import { ModelCluster } from '../../../../graders/src/model/model-cluster.ts';
import { buildApp } from '../../app.ts';
import { AttemptRepository } from '../../attempts/attempt-repository.ts';
import { AttemptService } from '../../attempts/attempt-service.ts';
import { loadConfig } from '../../config/config.ts';
import { logLine, type ServiceLog } from '../../log.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { DEFAULT_NODE_IMAGE } from '../../provisioner/kind-config.ts';
import { KindDriver } from '../../provisioner/kind-driver.ts';
import { FakeKindHost } from '../../provisioner/testing/fake-kind.ts';
import { openDatabase } from '../../storage/db.ts';
import { createExams } from '../create-exams.ts';
import { kubeProxyOnModels } from '../test-harness.ts';

const [dataDir, stateFile, port] = process.argv.slice(2);
if (!dataDir || !stateFile || !port) throw new Error('usage: fake-host-server.ts <dataDir> <stateFile> <port>');
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const boot = loadConfig({
  argv: ['--data-dir', dataDir, '--labs-dir', path.join(ROOT, 'labs'), '--exams-dir', path.join(ROOT, 'exams'), '--port', port],
  env: {},
  cwd: ROOT,
});
const { config } = boot;
const db = openDatabase(config.dataDir);
const labs = new LabCatalog(config.labsDir, path.join(config.dataDir, 'cache'));
await labs.reload();
const host = new FakeKindHost({ stateFile });
const models = new Map<string, ModelCluster>();
const portFor = (kubeconfigPath: string) => {
  const name = path.basename(path.dirname(kubeconfigPath));
  let m = models.get(name);
  if (!m) models.set(name, (m = new ModelCluster({ workers: (host.clusters.get(name)?.nodes.length ?? 1) - 1, name })));
  return m;
};
const log: ServiceLog = {
  info: (f, m) => console.log(logLine(f, m)),
  warn: (f, m) => console.log(`warn: ${logLine(f, m)}`),
  error: (f, m) => console.log(`error: ${logLine(f, m)}`),
};
const attempts = new AttemptService({
  repo: new AttemptRepository(db),
  driver: new KindDriver({
    runner: host,
    clustersDir: path.join(config.dataDir, 'clusters'),
    namePrefix: config.clusters.namePrefix,
    nodeImage: DEFAULT_NODE_IMAGE,
    createTimeoutMs: 60_000,
  }),
  labs,
  portFor,
  runner: kubeProxyOnModels(host, models),
  clusters: config.clusters,
  log,
  verifyNetworkPolicy: async () => {},
  setupPollMs: 5,
});
const exams = createExams(config, { db, labs, attempts, portFor, log });
const app = await buildApp(boot, { db, labs, attemptService: attempts, exams, portFor, shellLauncher: null, logger: false });
// As main.ts: adopt or delete clusters, then resume exams.
const r = await attempts.reconcile();
console.log(
  `reconcile: adopted ${r.adopted.length}, deleted ${r.deleted.length}, failed ${r.failed.length}; exams resumed ${exams.service.reconcile().resumed.length}`,
);
await app.listen({ host: '127.0.0.1', port: Number(port) });
console.log('ready');
