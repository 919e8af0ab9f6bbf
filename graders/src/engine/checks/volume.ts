// The volume check: pods mount a claim, the claim is Bound (to the named volume), the data is there.
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { lastLine, outputVerdict, READ_FILE, shorten } from './output.ts';
import { livePods, pendingReason, podPhase, resolvePods, tooFewRunning } from './pods.ts';

interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName?: string };
  [source: string]: unknown;
}

interface PodContainer {
  name: string;
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

/** How a pod's volumes are made, in words: "data → emptyDir, config → configMap". */
function volumeSources(volumes: readonly PodVolume[]): string {
  return (
    volumes
      .map(
        (v) =>
          `${v.name} → ${v.persistentVolumeClaim ? `claim ${v.persistentVolumeClaim.claimName ?? '?'}` : (Object.keys(v).find((k) => k !== 'name') ?? 'nothing')}`,
      )
      .join(', ') || 'no volumes'
  );
}

/** Why a claim is not Bound, from what the PV controller and the provisioner look at. */
async function claimPendingReason(ctx: GradeContext, pvc: KubeObject, opts: CallOptions): Promise<string> {
  const spec = (pvc.spec ?? {}) as { storageClassName?: string; volumeName?: string; accessModes?: string[] };
  const modes = (spec.accessModes ?? []).join(', ') || 'no access modes';
  if (spec.volumeName) {
    const pv = await ctx.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: spec.volumeName }, opts);
    if (!pv) return `it asks for PersistentVolume ${spec.volumeName}, which does not exist`;
    const phase = ((pv.status ?? {}) as { phase?: string }).phase ?? 'Unknown';
    return `it asks for PersistentVolume ${spec.volumeName}, which is ${phase}${phase === 'Released' ? ' (its claimRef still names the deleted claim; clear it to make the volume Available)' : ''}`;
  }
  const cls = spec.storageClassName;
  if (cls === undefined || cls === '') {
    return cls === ''
      ? `it asks for no StorageClass (${modes}), so only a matching Available PersistentVolume with no class can bind it`
      : `it names no StorageClass and the cluster has no default one (${modes})`;
  }
  const sc = await ctx.get({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', name: cls }, opts);
  if (!sc) {
    const pvs = await ctx.list({ apiVersion: 'v1', kind: 'PersistentVolume' }, opts);
    const same = pvs.filter((v) => ((v.spec ?? {}) as { storageClassName?: string }).storageClassName === cls);
    if (same.length === 0) return `StorageClass ${cls} does not exist and no PersistentVolume has that class, so nothing can provision or bind it`;
    const states = same
      .map((v) => {
        const vs = (v.spec ?? {}) as { accessModes?: string[]; claimRef?: { namespace?: string; name?: string } };
        const phase = ((v.status ?? {}) as { phase?: string }).phase ?? 'Unknown';
        // A Released volume is the classic trap: it matches in every way but still names its old claim.
        const why =
          phase === 'Released'
            ? `, its claimRef still names the deleted claim ${vs.claimRef?.namespace ?? ''}/${vs.claimRef?.name ?? ''}: remove spec.claimRef to make it Available`
            : '';
        return `${v.metadata.name} ${phase} (${(vs.accessModes ?? []).join(', ')}${why})`;
      })
      .join('; ');
    return `no PersistentVolume of class ${cls} is Available and matches its ${modes} and size: ${states}`;
  }
  const s = sc as KubeObject & { provisioner?: string; volumeBindingMode?: string };
  if (s.provisioner === 'kubernetes.io/no-provisioner')
    return `StorageClass ${cls} has no provisioner (kubernetes.io/no-provisioner): only a PersistentVolume of class ${cls} made by hand can bind it, and none is Available that matches ${modes} and its size`;
  if (s.volumeBindingMode === 'WaitForFirstConsumer')
    return `StorageClass ${cls} binds WaitForFirstConsumer: the volume is provisioned once a pod that uses the claim is scheduled (${modes}; see kubectl describe pvc for the provisioner's events)`;
  if (s.provisioner === 'rancher.io/local-path')
    return `StorageClass ${cls} binds ${s.volumeBindingMode ?? 'Immediate'}, but its provisioner local-path makes volumes on the node a pod was scheduled to and cannot provision before that ("no node was specified"): it needs volumeBindingMode WaitForFirstConsumer`;
  return `StorageClass ${cls} (provisioner ${s.provisioner ?? '?'}) has not provisioned it (${modes}); kubectl describe pvc shows the provisioner's events`;
}

/** Passes when the pods mount the claim where asked, it is Bound (to the named volume) and the file holds what is expected. */
export async function volumeCheck(ctx: GradeContext, c: Check<'volume'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pods, opts);
  const ns = typeof c.pods === 'string' ? (c.pods.split('/')[0] ?? 'default') : c.pods.namespace;
  const claimText = `claim ${ns}/${c.claim}`;
  const at = c.mountPath ? ` at ${c.mountPath}` : '';
  const expected = `${r.describe} mount ${claimText}${at}, Bound${c.persistentVolume ? ` to ${c.persistentVolume}` : ''}${c.file ? `, with ${c.file} on it` : ''}`;
  const live = livePods(r.pods);
  if (live.length === 0)
    return {
      status: 'fail',
      expected,
      actual: 'no pods',
      explanation: r.pods.length ? `every one of ${r.describe} has finished` : `${r.describe}: none exists`,
    };

  // 1. What the pods' specs say: every live pod uses the claim, and mounts it where asked.
  const mountsOf = (p: KubeObject): { container: string; mountPath: string }[] => {
    const spec = (p.spec ?? {}) as { volumes?: PodVolume[]; containers?: PodContainer[] };
    const names = new Set((spec.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName === c.claim).map((v) => v.name));
    return (spec.containers ?? [])
      .filter((k) => r.container === undefined || k.name === r.container)
      .flatMap((k) =>
        (k.volumeMounts ?? []).filter((m) => names.has(m.name)).map((m) => ({ container: k.name, mountPath: m.mountPath.replace(/\/+$/, '') || '/' })),
      );
  };
  for (const p of live) {
    const volumes = ((p.spec ?? {}) as { volumes?: PodVolume[] }).volumes ?? [];
    if (!volumes.some((v) => v.persistentVolumeClaim?.claimName === c.claim)) {
      // Mid-rollout, the old pod keeps running while the new one (with the claim) cannot start: say why.
      const stuck = live.filter(
        (q) =>
          podPhase(q) !== 'Running' &&
          (((q.spec ?? {}) as { volumes?: PodVolume[] }).volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === c.claim),
      );
      const why = stuck.map(pendingReason).find(Boolean);
      const newer = stuck.length
        ? `; ${stuck.map((q) => q.metadata.name).join(', ')}, which use${stuck.length === 1 ? 's' : ''} it, ${stuck.length === 1 ? 'is' : 'are'} ${podPhase(stuck[0] as KubeObject)}${why ? `: ${why}` : ''}`
        : '';
      return {
        status: 'fail',
        expected,
        actual: `${p.metadata.name}: ${volumeSources(volumes)}`,
        explanation: `pod ${p.metadata.name} does not use ${claimText}: its volumes are ${volumeSources(volumes)}${newer}`,
      };
    }
    const mounts = mountsOf(p);
    const wanted = c.mountPath?.replace(/\/+$/, '') || '/';
    if (mounts.length === 0 || (c.mountPath !== undefined && !mounts.some((m) => m.mountPath === wanted))) {
      const where = mounts.map((m) => `${m.mountPath} in ${m.container}`).join(', ');
      const whose = r.container ? `container ${r.container} of pod ${p.metadata.name}` : `pod ${p.metadata.name}`;
      return {
        status: 'fail',
        expected,
        actual: `${p.metadata.name}: ${where || 'not mounted'}`,
        explanation: `${whose} has a volume from ${claimText} but ${where ? `mounts it at ${where}` : 'no container mounts it'}${c.mountPath ? `, not at ${c.mountPath}` : ''}`,
      };
    }
  }

  // 2. The claim: Bound, to the named PersistentVolume.
  const pvc = await ctx.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: c.claim }, opts);
  if (!pvc)
    return { status: 'fail', expected, actual: `${claimText} not found`, explanation: `the pods use ${claimText}, which does not exist, so they cannot start` };
  const phase = ((pvc.status ?? {}) as { phase?: string }).phase ?? 'Pending';
  const boundTo = ((pvc.spec ?? {}) as { volumeName?: string }).volumeName;
  if (phase !== 'Bound')
    return { status: 'fail', expected, actual: `${claimText} ${phase}`, explanation: `${claimText} is ${phase}: ${await claimPendingReason(ctx, pvc, opts)}` };
  if (c.persistentVolume && boundTo !== c.persistentVolume) {
    return {
      status: 'fail',
      expected,
      actual: `${claimText} Bound to ${boundTo ?? '?'}`,
      explanation: `${claimText} is Bound to PersistentVolume ${boundTo ?? '?'}, not to ${c.persistentVolume}: it got a different volume (a new one from a StorageClass?), so the data on ${c.persistentVolume} is not what the pods see`,
    };
  }

  // 3. Enough of the pods run with it mounted.
  const running = live.filter((p) => podPhase(p) === 'Running');
  const actual = `${running.length} of ${live.length} pod(s) Running, ${claimText} Bound to ${boundTo ?? '?'}`;
  if (running.length < c.min) return tooFewRunning(running.length, c.min, r.describe, live, expected, actual);
  if (!c.file) return { status: 'pass', expected, actual };

  // 4. A file on the mount, read in the first running pod's container that mounts the claim.
  const reader = running[0] as KubeObject;
  const mount = mountsOf(reader).find((m) => c.mountPath === undefined || m.mountPath === (c.mountPath.replace(/\/+$/, '') || '/')) as {
    container: string;
    mountPath: string;
  };
  const filePath = `${mount.mountPath === '/' ? '' : mount.mountPath}/${c.file}`;
  if (ctx.port.containerFilesUnavailable)
    return {
      status: 'error',
      expected,
      actual: 'not read',
      explanation: `reading ${filePath} in pod ${reader.metadata.name} needs a real cluster: ${ctx.port.containerFilesUnavailable}`,
    };
  const res = await ctx.port.exec({ namespace: ns, name: reader.metadata.name, container: mount.container }, ['sh', '-c', READ_FILE, 'sh', filePath], opts);
  const where = `${filePath} in pod ${reader.metadata.name} (container ${mount.container})`;
  if (res.exitCode !== 0) {
    const why = res.exitCode === 3 ? 'does not exist' : res.exitCode === 4 ? 'is a directory, not a file' : `cannot be read: ${lastLine(res)}`;
    return {
      status: 'fail',
      expected,
      actual: `${c.file} ${why === 'does not exist' ? 'missing' : why}`,
      explanation: `${where} ${why}: the volume the pods mount does not hold the data${res.exitCode === 3 ? ' (an empty new volume, or a different path on the node?)' : ''}`,
    };
  }
  const out = outputVerdict(res.stdout, c);
  if (!out || out.ok)
    return { status: 'pass', expected: out ? `${expected} that ${out.expected}` : expected, actual: `${actual}; ${c.file}: ${shorten(res.stdout, 200)}` };
  return {
    status: 'fail',
    expected: `${c.file} ${out.expected}`,
    actual: shorten(res.stdout, 200),
    explanation: `${where} holds "${shorten(res.stdout, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected text that ${out.expected}`}`,
  };
}
