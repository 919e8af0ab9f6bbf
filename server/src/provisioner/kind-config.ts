import { stringify } from 'yaml';
import { ADDON_NAMES, type AddonName, type ClusterShape } from '../labs/format.ts';

/** The kind node image kind v0.33.0 publishes for Kubernetes 1.35 (the CKA exam's version), pinned by digest. */
export const DEFAULT_NODE_IMAGE = 'kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0';

/**
 * A stable key for a cluster shape, used for the warm pool and in config (clusters.poolShapes):
 * w1-netpol, w0+metrics-server, w1+gateway-api+metallb (add-ons sorted, each after a "+").
 */
export function shapeKey(shape: ClusterShape): string {
  const addons = [...new Set(shape.addons)]
    .sort()
    .map((a) => `+${a}`)
    .join('');
  const cp = (shape.controlPlanes ?? 1) > 1 ? `-cp${shape.controlPlanes}` : '';
  return `w${shape.workers}${cp}${shape.cni === 'none' ? '-nocni' : ''}${shape.networkPolicy ? '-netpol' : ''}${shape.nodeNames === 'exam' ? '-examnames' : ''}${addons}`;
}

/** The shape a key names (inverse of shapeKey; add-ons in any order). */
export function shapeFromKey(key: string): ClusterShape {
  const m = /^w([0-3])(?:-cp([23]))?(-nocni)?(-netpol)?(-examnames)?((?:\+[a-z0-9-]+)*)$/.exec(key);
  if (!m) throw new Error(`"${key}" is not a cluster shape key (w<workers>[-cp<2|3>][-nocni][-netpol][-examnames][+<add-on>…])`);
  const addons = m[6] ? m[6].slice(1).split('+') : [];
  const unknown = addons.find((a) => !(ADDON_NAMES as readonly string[]).includes(a));
  if (unknown) throw new Error(`"${key}" names an unknown add-on "${unknown}" (known: ${ADDON_NAMES.join(', ')})`);
  return {
    workers: Number(m[1]),
    ...(m[2] ? { controlPlanes: Number(m[2]) } : {}),
    cni: m[3] ? 'none' : 'kindnet',
    networkPolicy: Boolean(m[4]),
    ...(m[5] ? { nodeNames: 'exam' as const } : {}),
    addons: [...new Set(addons as AddonName[])].sort(),
    dedicated: false,
  };
}

export interface KindConfigOptions {
  /** The host runs cgroup v1: let kubelet start anyway and keep containerd from raising oom_score_adj. */
  cgroupV1: boolean;
  /** Pull-through mirror for docker.io and registry.k8s.io. */
  registryMirror?: string | undefined;
}

/** The kind cluster config (passed with --config -) for a lab's cluster shape. */
export function kindConfig(shape: ClusterShape, opts: KindConfigOptions): string {
  const controlPlanes = shape.controlPlanes ?? 1;
  const config: Record<string, unknown> = {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [...Array.from({ length: controlPlanes }, () => ({ role: 'control-plane' })), ...Array.from({ length: shape.workers }, () => ({ role: 'worker' }))],
  };
  if (shape.nodeNames === 'exam') {
    // kubeadm registers each node under nodeRegistration.name (and sets kubelet's --hostname-override);
    // kind names the containers -control-plane, -control-plane2…, -worker, -worker2… in this order,
    // which node-names.ts maps to controlplane, controlplane2…, node01, node02…. The first control
    // plane runs kubeadm init, the others kubeadm join.
    config.nodes = [
      { role: 'control-plane', kubeadmConfigPatches: ['kind: InitConfiguration\nnodeRegistration:\n  name: controlplane\n'] },
      ...Array.from({ length: controlPlanes - 1 }, (_, i) => ({
        role: 'control-plane',
        kubeadmConfigPatches: [`kind: JoinConfiguration\nnodeRegistration:\n  name: controlplane${i + 2}\n`],
      })),
      ...Array.from({ length: shape.workers }, (_, i) => ({
        role: 'worker',
        kubeadmConfigPatches: [`kind: JoinConfiguration\nnodeRegistration:\n  name: node${String(i + 1).padStart(2, '0')}\n`],
      })),
    ];
  }
  if (shape.cni === 'none') config.networking = { disableDefaultCNI: true };
  const containerd: string[] = [];
  if (opts.cgroupV1) {
    // Kubernetes ≥ 1.35 refuses cgroup v1 unless told otherwise; inside a container without
    // CAP_SYS_RESOURCE containerd cannot lower oom_score_adj, so it must only raise it.
    config.kubeadmConfigPatches = ['kind: KubeletConfiguration\nfailCgroupV1: false\n'];
    containerd.push('[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n');
  }
  if (opts.registryMirror) {
    const m = JSON.stringify(opts.registryMirror);
    containerd.push(
      `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = [${m}, "https://registry-1.docker.io"]\n` +
        `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]\n  endpoint = [${m}, "https://registry.k8s.io"]\n`,
    );
  }
  if (containerd.length) config.containerdConfigPatches = containerd;
  return stringify(config);
}
