// What each declared step of attempt-plan.ts does, bound to one cluster: kind's create (with the
// images loaded while kind starts Kubernetes), the images, NetworkPolicy enforcement, add-ons, the
// labs' setups and a Killercoda scenario's setup. The same work makes warm clusters (ClusterPool)
// and prepares attempts (AttemptService).
import type { ClusterShape } from '../labs/format.ts';
import type { Lab } from '../labs/loader.ts';
import { OPEN_LEARNER_FOLDERS } from '../labs/scenarios.ts';
import { installAddons } from '../provisioner/addons.ts';
import type { ClusterInfo } from '../provisioner/kind-driver.ts';
import { enforceNetworkPolicy, fallbackImages, KUBE_ROUTER_MANIFEST, SELFTEST_IMAGE } from '../provisioner/netpol-selftest.ts';
import { netpolFacts } from '../provisioner/netpol-verdicts.ts';
import type { StepWork } from '../provisioner/pipeline.ts';
import { ProvisionError } from '../provisioner/steps.ts';
import type { StepId } from './attempt-plan.ts';
import type { AttemptServiceOptions } from './attempt-service.ts';
import type { OwnedCluster } from './cluster-pool.ts';
import { applyLabSetups, labSetupOf } from './lab-setups.ts';

/** The cluster the steps work on, and for what. */
export interface ProvisionTarget {
  cluster: OwnedCluster;
  shape: ClusterShape;
  /** A warm cluster: made already, with cluster.info. */
  warm: boolean;
  /** The images the labs run. */
  images: readonly string[];
  /** The labs to set up (drawn as the attempt's params made them); none for a warm cluster being made. */
  labs: readonly Lab[];
  attemptId?: string;
}

export { labSetupOf };

/** The work of every step for the target; info() is the cluster once the create step made it (or the warm one's). */
export function provisionWork(o: AttemptServiceOptions, t: ProvisionTarget): { work: StepWork<StepId>; info: () => ClusterInfo | undefined } {
  let made: ClusterInfo | undefined;
  let early: Promise<unknown> | undefined;
  let wanted: Promise<string[]> | undefined;
  const info = () => made ?? t.cluster.info;
  const need = () => {
    const i = info();
    if (!i) throw new Error(`cluster ${t.cluster.name} does not exist yet`);
    return i;
  };
  // A new cluster gets the self-test's images with the labs' (and the fallback controller's, in case).
  const wantedImages = () =>
    (wanted ??= (async () => [...new Set([...t.images, ...(t.shape.networkPolicy ? [SELFTEST_IMAGE, ...(await fallbackImages())] : [])])])());
  const preloader = (signal: AbortSignal) => (imgs: string[]) => o.driver.preloadImages(need().name, imgs, signal);

  const work: StepWork<StepId> = {
    claim: async () => {},
    create: async (sink, signal) => {
      const images = await wantedImages();
      const loadEarly = () => {
        // A node whose containerd is not up yet makes this fail; the images step loads them then.
        early ??= o.driver.preloadImages(t.cluster.name, images, signal).catch(() => undefined);
      };
      made = await o.driver.create(t.cluster.name, t.shape, sink, signal, images.length ? { onNodesCreated: loadEarly } : {});
    },
    images: async (_sink, signal) => {
      const c = need();
      if (t.warm) {
        await o.driver.preloadImages(c.name, t.images, signal);
        return;
      }
      await early;
      const r = await o.driver.preloadImages(c.name, await wantedImages(), signal);
      t.cluster.images = new Set([...r.loaded, ...r.present]);
    },
    netpol: async (sink, signal) => {
      const c = need();
      const check =
        o.verifyNetworkPolicy ??
        ((cl, port, onStep, s) => enforceNetworkPolicy(cl, { port, runner: o.runner, preload: preloader(s), ...netpolVerdictStore(o) }, onStep, s));
      await check(c, o.portFor(c.kubeconfigPath), sink, signal);
    },
    addons: async (sink, signal) => {
      const c = need();
      const install =
        o.installAddons ?? ((cl, addons, port, onStep, s) => installAddons(cl, addons, { port, runner: o.runner, preload: preloader(s) }, onStep, s));
      await install(c, t.shape.addons, o.portFor(c.kubeconfigPath), sink, signal);
    },
    setup: async (sink, signal) => {
      const c = need();
      // Clusters adopted after a restart come back without their node list; readiness reads kube-proxy's rules on each node.
      if (!c.nodes.length) c.nodes = await o.driver.nodes(c.name);
      await applyLabSetups(
        t.labs,
        c,
        { port: o.portFor(c.kubeconfigPath), runner: o.runner, timeoutMs: o.clusters.setupTimeoutMinutes * 60_000, pollMs: o.setupPollMs },
        sink,
        signal,
      );
    },
    scenario: async (_sink, signal) => {
      for (const lab of t.labs) {
        const setup = lab.scenarioSetup;
        if (!setup) continue;
        // A Killercoda scenario's assets and background scripts run as root in the attempt's
        // workstation (where the scenario's host is played), never on this server.
        const name = "Running the scenario's setup in the workstation";
        const ws = t.attemptId ? o.workstationFor?.(t.attemptId) : undefined;
        if (!ws)
          throw new ProvisionError(
            name,
            "Killercoda scenarios need container terminals (terminal.mode=container): their scripts run in the learner's workstation, never on the server",
          );
        // The workstation's root has no capabilities, so it cannot write in folders the image gives the
        // learner (/opt/course); the learner opens them first, as Killercoda's root could write anywhere.
        await ws.exec(['bash', '-c', OPEN_LEARNER_FOLDERS], { user: 'candidate', signal, timeoutMs: 30_000 });
        const r = await ws.exec(['bash', '-s'], { user: 'root', stdin: setup.script, signal, timeoutMs: o.clusters.setupTimeoutMinutes * 60_000 });
        if (r.exitCode !== 0)
          throw new ProvisionError(
            name,
            `the scenario's setup (${setup.from.join(', ')}) exited with ${r.exitCode}`,
            `${r.stdout}\n${r.stderr}`.trim().slice(-8000),
          );
      }
    },
  };
  return { work, info };
}

/** The remembered self-test verdict for this node image on this host, read and written through the store. */
function netpolVerdictStore(o: AttemptServiceOptions): {
  verdicts?: { get(): Promise<'kindnet' | 'kube-router' | undefined>; remember(v: 'kindnet' | 'kube-router'): Promise<void> };
} {
  const store = o.netpolVerdicts;
  if (!store) return {};
  const facts = netpolFacts(o.runner, o.driver.nodeImage, KUBE_ROUTER_MANIFEST);
  facts.catch(() => {}); // get() and remember() callers see the failure
  return { verdicts: { get: async () => store.get(await facts), remember: async (v) => store.remember(await facts, v) } };
}
