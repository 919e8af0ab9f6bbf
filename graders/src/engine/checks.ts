import type { CheckDecl } from '../checks/schema.ts';
import type { CallOptions } from '../cluster/port.ts';
import { accessCheck } from './checks/access.ts';
import type { GradeContext } from './checks/context.ts';
import { dnsCheck } from './checks/dns.ts';
import { nodeCheck } from './checks/nodes.ts';
import { absentCheck, countCheck, existsCheck, fieldCheck, podReadyCheck, rolloutCheck } from './checks/objects.ts';
import { placementCheck } from './checks/placement.ts';
import { probeCheck } from './checks/probe.ts';
import { scriptCheck } from './checks/script.ts';
import { volumeCheck } from './checks/volume.ts';
import { workstationCheck } from './checks/workstation.ts';
import type { CheckOutcome } from './types.ts';

// One function per check kind. Each returns pass/fail with expected vs actual and an explanation;
// cluster errors are thrown and turned into `error` outcomes by the engine.
// Each family lives in checks/: objects, probe (and the targets it connects to), dns, script, nodes,
// workstation, access, placement, volume.

export { GradeContext } from './checks/context.ts';
export { accessIdentity, accessResource } from './checks/access.ts';
export { nodeForRole } from './checks/nodes.ts';

/** Runs one check declaration. Throws only for cluster errors (the engine turns them into `error`). */
export function runCheck(ctx: GradeContext, c: CheckDecl, opts: CallOptions): Promise<CheckOutcome> {
  switch (c.kind) {
    case 'exists':
      return existsCheck(ctx, c, opts);
    case 'absent':
      return absentCheck(ctx, c, opts);
    case 'field':
      return fieldCheck(ctx, c, opts);
    case 'count':
      return countCheck(ctx, c, opts);
    case 'podReady':
      return podReadyCheck(ctx, c, opts);
    case 'rollout':
      return rolloutCheck(ctx, c, opts);
    case 'probe':
      return probeCheck(ctx, c, opts);
    case 'dns':
      return dnsCheck(ctx, c, opts);
    case 'script':
      return scriptCheck(ctx, c, opts);
    case 'node':
      return nodeCheck(ctx, c, opts);
    case 'workstation':
      return workstationCheck(ctx, c, opts);
    case 'access':
      return accessCheck(ctx, c, opts);
    case 'placement':
      return placementCheck(ctx, c, opts);
    case 'volume':
      return volumeCheck(ctx, c, opts);
  }
}
