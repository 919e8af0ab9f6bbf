import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../cluster/port.ts';
import { buildNetpolState, evaluateConnection, findPod, type Protocol } from './evaluator.ts';
import { compileCidr } from './cidr.ts';
import { labelSelectorTerms, matchesLabels, parseLabelSelector } from './selectors.ts';

// Semantics follow the Kubernetes NetworkPolicy documentation and the upstream e2e netpol suite
// (test/e2e/network/netpol): every case below has a plausible wrong implementation that fails it.

function ns(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}
let nextIp = 10;
function pod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  ports: { name?: string; containerPort: number; protocol?: string }[] = [],
  extra: { hostNetwork?: boolean; ip?: string } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { hostNetwork: extra.hostNetwork, containers: [{ name: 'c', ports }] },
    status: { podIP: extra.ip ?? `10.244.1.${nextIp++}` },
  };
}
function netpol(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const base: KubeObject[] = [
  ns('default'),
  ns('restricted', { team: 'sec' }),
  ns('other', { team: 'ops', env: 'prod' }),
  pod('restricted', 'server', { app: 'server' }, [
    { name: 'http', containerPort: 80 },
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { containerPort: 8080 },
    { containerPort: 9000, protocol: 'SCTP' },
  ]),
  pod('restricted', 'insider', { run: 'client' }),
  pod('default', 'client', { run: 'client' }),
  pod('default', 'other-client', { run: 'other' }),
  pod('other', 'client', { run: 'client', tier: 'web' }),
  pod('other', 'nolabel', {}),
  pod('kube-system', 'node-agent', { app: 'agent' }, [{ containerPort: 8080 }], { hostNetwork: true, ip: '172.18.0.2' }),
];

function verdict(extra: KubeObject[], from: string, to: string, port: number, protocol: Protocol = 'TCP') {
  const state = buildNetpolState([...base, ...extra]);
  const f = findPod(state, from);
  const t = findPod(state, to);
  return evaluateConnection(state, { from: f ? { pod: f } : { ip: from }, to: t ? { pod: t } : { ip: to }, port, protocol });
}
const allowed = (extra: KubeObject[], from: string, to: string, port: number, protocol: Protocol = 'TCP') => verdict(extra, from, to, port, protocol).allowed;

const serverSel = { matchLabels: { app: 'server' } };

describe('NetworkPolicy evaluator', () => {
  it('names the peer of an ORed rule that let a connection in', () => {
    const ored = netpol('restricted', 'ored', {
      podSelector: serverSel,
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }, { podSelector: { matchLabels: { run: 'client' } } }] },
      ],
    });
    const v = verdict([ored], 'default/other-client', 'restricted/server', 80);
    assert.equal(v.allowed, true);
    assert.match(
      v.explanation,
      /other-client matched peer 1 of 2, all pods in namespaces labelled kubernetes\.io\/metadata\.name=default — separate peers are ORed\)$/,
    );
  });

  it('allows everything when no policy selects either pod, and says so', () => {
    const v = verdict([], 'default/client', 'restricted/server', 80);
    assert.equal(v.allowed, true);
    assert.match(v.explanation, /no NetworkPolicy in namespace restricted selects server for ingress/);
  });

  it('infers policyTypes: a policy with only egress rules isolates ingress too (Ingress is always implied)', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, egress: [{}] });
    assert.equal(allowed([p], 'default/client', 'restricted/server', 80), false);
    assert.equal(allowed([p], 'restricted/server', 'default/client', 80), true, 'its egress rule {} allows all egress');
  });

  it('infers policyTypes: without egress rules the policy does not isolate egress', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [] });
    assert.equal(allowed([p], 'restricted/server', 'default/client', 80), true);
  });

  it('honours explicit policyTypes: [Egress] ignores ingress rules and leaves ingress open', () => {
    const p = netpol('restricted', 'p', {
      podSelector: serverSel,
      policyTypes: ['Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { none: 'x' } } }] }],
    });
    assert.equal(allowed([p], 'default/client', 'restricted/server', 80), true);
    assert.equal(allowed([p], 'restricted/server', 'default/client', 80), false, 'no egress rules: all egress denied');
  });

  it('distinguishes an empty ingress list (deny all) from a rule {} (allow all)', () => {
    assert.equal(allowed([netpol('restricted', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })], 'default/client', 'restricted/server', 80), false);
    assert.equal(allowed([netpol('restricted', 'allow', { podSelector: {}, ingress: [{}] })], 'default/client', 'restricted/server', 80), true);
  });

  it('treats from: [] and ports: [] as "every peer" and "every port"', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [{ from: [], ports: [] }] });
    assert.equal(allowed([p], 'other/nolabel', 'restricted/server', 12345), true);
  });

  it('ANDs podSelector and namespaceSelector in one peer but ORs them as two peers', () => {
    const one = netpol('restricted', 'one', {
      podSelector: serverSel,
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } }, podSelector: { matchLabels: { run: 'client' } } }] },
      ],
    });
    const two = netpol('restricted', 'two', {
      podSelector: serverSel,
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }, { podSelector: { matchLabels: { run: 'client' } } }] },
      ],
    });
    assert.equal(allowed([one], 'default/client', 'restricted/server', 80), true);
    assert.equal(allowed([one], 'default/other-client', 'restricted/server', 80), false);
    assert.equal(allowed([one], 'other/client', 'restricted/server', 80), false);
    assert.equal(allowed([two], 'default/other-client', 'restricted/server', 80), true, 'any pod in default');
    assert.equal(allowed([two], 'restricted/insider', 'restricted/server', 80), true, 'run=client in the policy namespace');
    assert.equal(allowed([two], 'other/client', 'restricted/server', 80), false, 'a bare podSelector means the policy namespace only');
  });

  it('reads namespaceSelector {} as every namespace and podSelector {} as every pod', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [{ from: [{ namespaceSelector: {} }] }] });
    assert.equal(allowed([p], 'other/nolabel', 'restricted/server', 80), true);
    const q = netpol('restricted', 'q', { podSelector: serverSel, ingress: [{ from: [{ podSelector: {} }] }] });
    assert.equal(allowed([q], 'restricted/insider', 'restricted/server', 80), true);
    assert.equal(allowed([q], 'other/nolabel', 'restricted/server', 80), false);
  });

  it('evaluates matchExpressions In, NotIn (true without the key), Exists and DoesNotExist', () => {
    const expr = (operator: string, values?: string[]) =>
      netpol('restricted', 'p', {
        podSelector: serverSel,
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }] } }] }],
      });
    assert.equal(allowed([expr('In', ['web', 'api'])], 'other/client', 'restricted/server', 80), true);
    assert.equal(allowed([expr('In', ['web'])], 'other/nolabel', 'restricted/server', 80), false);
    assert.equal(allowed([expr('NotIn', ['web'])], 'other/client', 'restricted/server', 80), false);
    assert.equal(allowed([expr('NotIn', ['web'])], 'other/nolabel', 'restricted/server', 80), true);
    assert.equal(allowed([expr('Exists')], 'other/client', 'restricted/server', 80), true);
    assert.equal(allowed([expr('Exists')], 'other/nolabel', 'restricted/server', 80), false);
    assert.equal(allowed([expr('DoesNotExist')], 'other/nolabel', 'restricted/server', 80), true);
  });

  it('resolves named ports against the destination pod, protocol included', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [{ ports: [{ port: 'http' }] }] });
    assert.equal(allowed([p], 'default/client', 'restricted/server', 80), true);
    assert.equal(allowed([p], 'default/client', 'restricted/server', 8080), false);
    const dns = netpol('restricted', 'dns', { podSelector: serverSel, ingress: [{ ports: [{ port: 'dns' }] }] });
    assert.equal(
      allowed([dns], 'default/client', 'restricted/server', 53, 'UDP'),
      false,
      'named port dns defaults to TCP in the rule, but the container port is UDP',
    );
    const dnsUdp = netpol('restricted', 'dns', { podSelector: serverSel, ingress: [{ ports: [{ port: 'dns', protocol: 'UDP' }] }] });
    assert.equal(allowed([dnsUdp], 'default/client', 'restricted/server', 53, 'UDP'), true);
  });

  it('matches endPort ranges inclusively', () => {
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] });
    assert.equal(allowed([p], 'default/client', 'restricted/server', 8080), true);
    assert.equal(allowed([p], 'default/client', 'restricted/server', 8000), true);
    assert.equal(allowed([p], 'default/client', 'restricted/server', 8081), false);
    assert.equal(allowed([p], 'default/client', 'restricted/server', 80), false);
  });

  it('matches ipBlock cidr minus except', () => {
    const state = buildNetpolState(base);
    const clientIp = findPod(state, 'default/client')?.ip ?? '';
    const p = netpol('restricted', 'p', { podSelector: serverSel, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${clientIp}/32`] } }] }] });
    assert.equal(allowed([p], 'default/client', 'restricted/server', 80), false);
    assert.equal(allowed([p], 'default/other-client', 'restricted/server', 80), true);
    assert.equal(allowed([p], '192.168.1.1', 'restricted/server', 80), false);
  });

  it('isolates egress: the source must be allowed out as well as the target allowed in', () => {
    const egress = netpol('default', 'e', {
      podSelector: { matchLabels: { run: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '172.18.0.0/16' } }], ports: [{ port: 8080 }] }],
    });
    assert.equal(allowed([egress], 'default/client', 'restricted/server', 80), false);
    assert.equal(allowed([egress], 'default/client', 'kube-system/node-agent', 8080), true, 'the host-network pod is its node IP');
    assert.equal(allowed([egress], 'default/other-client', 'restricted/server', 80), true, 'not selected');
    const v = verdict([egress], 'default/client', 'restricted/server', 80);
    assert.match(v.explanation, /client is isolated for egress by NetworkPolicy default\/e/);
  });

  it('keeps pod selectors from matching host-network pods and never isolates them', () => {
    const p = netpol('kube-system', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
    assert.equal(allowed([p], 'default/client', 'kube-system/node-agent', 8080), true);
    const e = netpol('default', 'e', {
      podSelector: { matchLabels: { run: 'client' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    });
    assert.equal(allowed([e], 'default/client', 'kube-system/node-agent', 8080), false);
  });

  it('separates TCP, UDP and SCTP', () => {
    const tcp = netpol('restricted', 'tcp', { podSelector: serverSel, ingress: [{ ports: [{ port: 53 }] }] });
    assert.equal(allowed([tcp], 'default/client', 'restricted/server', 53, 'UDP'), false);
    assert.equal(allowed([tcp], 'default/client', 'restricted/server', 53, 'TCP'), true);
    const sctp = netpol('restricted', 'sctp', { podSelector: serverSel, ingress: [{ ports: [{ protocol: 'SCTP', port: 9000 }] }] });
    assert.equal(allowed([sctp], 'default/client', 'restricted/server', 9000, 'SCTP'), true);
    assert.equal(allowed([sctp], 'default/client', 'restricted/server', 9000, 'TCP'), false);
    const udpAny = netpol('restricted', 'udp', { podSelector: serverSel, ingress: [{ ports: [{ protocol: 'UDP' }] }] });
    assert.equal(allowed([udpAny], 'default/client', 'restricted/server', 5353, 'UDP'), true, 'a port entry without a port admits every port of its protocol');
  });

  it('adds policies together: a deny-all plus an allow admits the allowed traffic', () => {
    const deny = netpol('restricted', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const allow = netpol('restricted', 'allow', {
      podSelector: serverSel,
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }] }],
    });
    const v = verdict([deny, allow], 'default/client', 'restricted/server', 80);
    assert.equal(v.allowed, true);
    assert.deepEqual(v.ingress.allowedBy, { policy: 'restricted/allow', rule: 1 });
    assert.deepEqual(v.ingress.isolatedBy, ['restricted/deny', 'restricted/allow']);
    assert.equal(allowed([deny, allow], 'restricted/insider', 'restricted/server', 80), false, 'insider is denied egress and ingress');
  });

  it('requires both directions and explains each refusal', () => {
    const ingress = netpol('restricted', 'in', { podSelector: serverSel, ingress: [{ from: [{ namespaceSelector: {} }] }] });
    const egress = netpol('default', 'out', { podSelector: {}, policyTypes: ['Egress'] });
    const v = verdict([ingress, egress], 'default/client', 'restricted/server', 80);
    assert.equal(v.allowed, false);
    assert.equal(v.ingress.allowed, true);
    assert.equal(v.egress.allowed, false);
    assert.match(
      v.explanation,
      /client cannot reach server on TCP 80: client is isolated for egress by NetworkPolicy default\/out, and it has no egress rules/,
    );
    // The reason is a field of its own, so the grader quotes it without cutting the sentence apart.
    assert.equal(v.reason, 'client is isolated for egress by NetworkPolicy default/out, and it has no egress rules, so all egress is denied');
    assert.ok(v.explanation.endsWith(`: ${v.reason}`));
  });

  it('names the isolating policy and its rules when ingress is refused', () => {
    const p = netpol('restricted', 'only-client', {
      podSelector: serverSel,
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { run: 'client' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }],
          ports: [{ port: 80 }],
        },
      ],
    });
    const v = verdict([p], 'default/other-client', 'restricted/server', 80);
    assert.match(
      v.explanation,
      /server is isolated for ingress by NetworkPolicy restricted\/only-client, and none of its rules admits other-client on TCP 80 \(restricted\/only-client rule 1 allows from pods labelled run=client in namespaces labelled kubernetes.io\/metadata.name=default on TCP 80\)/,
    );
  });
});

describe('selectors and CIDRs', () => {
  it('parses kubectl selector syntax', () => {
    assert.equal(parseLabelSelector('app=web,tier!=db')({ app: 'web', tier: 'fe' }), true);
    assert.equal(parseLabelSelector('app=web,tier!=db')({ app: 'web', tier: 'db' }), false);
    assert.equal(parseLabelSelector('env in (a,b),!legacy')({ env: 'b' }), true);
    assert.equal(parseLabelSelector('env notin (a,b)')({}), true);
    assert.equal(parseLabelSelector('app')({ other: 'x' }), false);
    assert.throws(() => parseLabelSelector('app=(x'));
  });

  it('gives the terms of a selector, and matches map selectors (Service selector, nodeSelector)', () => {
    assert.deepEqual(labelSelectorTerms('app=web, env in (a,b),!legacy'), [
      { key: 'app', op: '=', values: ['web'] },
      { key: 'env', op: 'in', values: ['a', 'b'] },
      { key: 'legacy', op: '!exists', values: [] },
    ]);
    assert.equal(matchesLabels({ app: 'web', tier: 'fe' }, { app: 'web', tier: 'fe', extra: 'x' }), true);
    assert.equal(matchesLabels({ app: 'web', tier: 'fe' }, { app: 'web' }), false);
    assert.equal(matchesLabels({}, undefined), true, 'an empty map selects everything');
  });

  it('matches IPv4 and IPv6 prefixes', () => {
    assert.equal(compileCidr('10.244.0.0/16')('10.244.9.9'), true);
    assert.equal(compileCidr('10.244.0.0/16')('10.245.0.1'), false);
    assert.equal(compileCidr('0.0.0.0/0')('1.2.3.4'), true);
    assert.equal(compileCidr('fd00:10:244::/56')('fd00:10:244:1::5'), true);
    assert.equal(compileCidr('fd00:10:244::/56')('fd00:10:245::5'), false);
    assert.equal(compileCidr('10.0.0.0/8')('fd00::1'), false);
  });
});
