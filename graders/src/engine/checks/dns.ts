// The dns check: nslookup from a pod, each name its resolv.conf search list would try.
import type { CallOptions } from '../../cluster/port.ts';
import { dnsCandidates, parseNslookup, parseResolvConf } from '../probe-commands.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { sourcePod } from './pods.ts';
import { evaluatorVerdicts, serviceBackends } from './targets.ts';

/** Passes when the name resolves (to the address) from the pod, or does not when it should not. */
export async function dnsCheck(ctx: GradeContext, c: Check<'dns'>, opts: CallOptions): Promise<CheckOutcome> {
  const expected = c.expect === 'resolves' ? `resolves${c.address ? ` to ${c.address}` : ''}` : 'does not resolve';
  const src = await sourcePod(ctx, c.from, opts);
  if ('missing' in src) return { status: 'fail', expected, actual: 'not run', explanation: `the lookup could not run: ${src.missing}` };
  const target = { namespace: src.pod.metadata.namespace ?? 'default', name: src.pod.metadata.name, ...(src.container ? { container: src.container } : {}) };
  let wantIp: string | undefined;
  if (c.address) {
    if (c.address.includes('/')) {
      const [ns, name] = c.address.split('/');
      const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: ns ?? '', name: name ?? '' }, opts);
      if (!svc)
        return { status: 'error', expected, actual: 'not run', explanation: `the expected address comes from Service ${c.address}, which does not exist` };
      wantIp = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
    } else wantIp = c.address;
  }
  const conf = parseResolvConf((await ctx.port.exec(target, ['cat', '/etc/resolv.conf'], opts)).stdout);
  let addresses: string[] = [];
  let answeredName: string | undefined;
  let serverSilent = false;
  for (const candidate of dnsCandidates(c.name, conf)) {
    const r = await ctx.port.exec(target, ['nslookup', candidate], opts);
    addresses = parseNslookup(r.stdout);
    if (addresses.length > 0) {
      answeredName = candidate;
      break;
    }
    if (/no servers could be reached|timed out/i.test(`${r.stdout}\n${r.stderr}`)) {
      serverSilent = true;
      break;
    }
  }
  const resolved = addresses.length > 0;
  const actual = resolved ? `${answeredName} → ${addresses.join(', ')}` : serverSilent ? 'no DNS server answered' : 'no such name';
  // Which name answered and why: the search list of the pod's resolv.conf turns short names into FQDNs.
  const how = resolved
    ? `${c.name} resolved from ${src.pod.metadata.name} as ${answeredName} → ${addresses.join(', ')}${answeredName !== c.name.replace(/\.$/, '') ? ` (the search list of its /etc/resolv.conf, ${conf.search.join(' ') || 'empty'}, completed the name)` : ''}, asking ${conf.nameservers.join(', ') || 'no nameserver'}`
    : undefined;
  if (c.expect === 'fails') {
    return resolved
      ? { status: 'fail', expected, actual, explanation: how ?? actual }
      : {
          status: 'pass',
          expected,
          actual,
          explanation: `${c.name} does not resolve from ${src.pod.metadata.name} (tried ${dnsCandidates(c.name, conf).join(', ')})`,
        };
  }
  if (!resolved) {
    let why = serverSilent
      ? `no DNS server answered ${src.pod.metadata.name}`
      : `${c.name} does not exist for ${src.pod.metadata.name} (tried ${dnsCandidates(c.name, conf).join(', ')})`;
    if (serverSilent) {
      const dns = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: 'kube-system', name: 'kube-dns' }, opts);
      if (dns) {
        const b = await serviceBackends(ctx, dns, 53, opts);
        const verdicts = await evaluatorVerdicts(ctx, src.pod, { host: '', display: 'kube-dns', backends: b.backends }, 'UDP', opts);
        const denied = verdicts?.find((v) => !v.allowed);
        if (denied) why += `: ${denied.reason}`;
      }
    }
    return { status: 'fail', expected, actual, explanation: why };
  }
  if (wantIp && wantIp !== 'None' && !addresses.includes(wantIp)) {
    return {
      status: 'fail',
      expected: `resolves to ${wantIp}`,
      actual,
      explanation: `${how ?? c.name}, not to ${wantIp}${c.address?.includes('/') ? ` (the cluster IP of Service ${c.address})` : ''}`,
    };
  }
  return { status: 'pass', expected: wantIp ? `resolves to ${wantIp}` : expected, actual, ...(how ? { explanation: how } : {}) };
}
