import type { ClusterPort } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { Lab } from '../labs/loader.ts';
import type { ClusterInfo } from '../provisioner/kind-driver.ts';
import { applyLabSetup, type LabSetup } from '../provisioner/lab-setup.ts';
import type { StepSink } from '../provisioner/steps.ts';
import { execOnKindNode } from '../terminal/launchers.ts';

/** A lab's setup as applyLabSetup takes it. */
export function labSetupOf(lab: Lab): LabSetup {
  return {
    dir: lab.dir,
    setupManifests: lab.files.setupManifests,
    setupScript: lab.files.setupScript,
    nodeScripts: lab.files.setupNodeScripts,
    ...(lab.meta.broken ? { broken: lab.meta.broken } : {}),
  };
}

/**
 * Applies the setups of the labs on one cluster and waits until each is ready. Several labs (an
 * exam's cluster) go on at once — exam.yaml's linter refuses labs that touch the same things — each
 * step named by its lab; the first failure stops the rest.
 */
export async function applyLabSetups(
  labs: readonly Lab[],
  info: ClusterInfo,
  deps: { port: ClusterPort; runner: CommandRunner; timeoutMs: number; pollMs?: number | undefined },
  sink: StepSink,
  signal: AbortSignal,
): Promise<void> {
  const together = new AbortController();
  const stop = () => together.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.all(
      labs.map((lab) =>
        applyLabSetup(
          labSetupOf(lab),
          info,
          { port: deps.port, runner: deps.runner, nodeExec: (node, argv, opts) => execOnKindNode(deps.runner, info.name, node, argv, opts) },
          labs.length > 1 ? (e) => sink({ ...e, step: `${lab.id}: ${e.step}` }) : sink,
          { timeoutMs: deps.timeoutMs, signal: together.signal, ...(deps.pollMs ? { pollMs: deps.pollMs } : {}) },
        ).catch((e: unknown) => {
          together.abort();
          throw e;
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
