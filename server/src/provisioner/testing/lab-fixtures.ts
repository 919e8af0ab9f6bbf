// Lab objects for provisioner and attempt tests, pointing at real labs in labs/networking.
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClusterShape } from '../../labs/format.ts';
import type { Lab } from '../../labs/loader.ts';
import { labForAttempt, type ParamValues } from '../../labs/params.ts';

const NETWORKING = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'labs', 'networking');

/** A lab as the catalog would load it (only the fields provisioning reads are real). */
export function testLab(
  id: string,
  o: { cluster?: Partial<ClusterShape>; images?: string[]; setupManifests?: string[]; setupScript?: string; dir?: string } = {},
): Lab {
  return {
    id,
    track: 'networking',
    dir: o.dir ?? path.join(NETWORKING, id),
    meta: {
      id,
      kubernetes: '1.35',
      cluster: { workers: 0, cni: 'kindnet', networkPolicy: false, addons: [], ...o.cluster },
      images: o.images ?? [],
    },
    files: {
      setupManifests: o.setupManifests ?? [],
      setupScript: o.setupScript,
      setupNodeScripts: [],
      solutionManifests: [],
      solutionScript: undefined,
      solutionNodeScripts: [],
      solutionWorkstationScript: undefined,
    },
  } as unknown as Lab;
}

/** The netpol-lab9server lab with its real setup manifests. */
export function lab9server(): Lab {
  return testLab('netpol-lab9server', {
    cluster: { workers: 1, networkPolicy: true },
    images: ['docker.io/library/nginx:1.27.4', 'docker.io/library/busybox:1.37.0'],
    setupManifests: ['setup/10-namespace.yaml', 'setup/20-lab9server.yaml', 'setup/30-clients.yaml'],
  });
}

/** A catalog holding the given labs. */
export function testCatalog(labs: Lab[]): {
  get(id: string): Lab | undefined;
  forAttempt(id: string, params: Readonly<Record<string, ParamValues>> | null | undefined): Lab | undefined;
  current: { labs: Lab[] };
} {
  const get = (id: string) => labs.find((l) => l.id === id);
  const variantsDir = path.join(tmpdir(), `kubedrill-test-variants-${process.pid}`);
  const forAttempt = (id: string, params: Readonly<Record<string, ParamValues>> | null | undefined) => {
    const lab = get(id);
    return lab && labForAttempt(lab, params, variantsDir);
  };
  return { get, forAttempt, current: { labs } };
}
