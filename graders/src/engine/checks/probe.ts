// The probe check: a real connection from a pod, retried within a window, explained with what
// NetworkPolicy, the Service's endpoints or an Ingress rule say.
import { ClusterError, type CallOptions, type KubeObject } from '../../cluster/port.ts';
import { DUMP_KUBE_PROXY_RULES, rulesMention } from '../kube-proxy.ts';
import { explainIngressMatch, matchIngress } from '../ingress-routes.ts';
import { classifyProbe, probeArgv, statusMatches, type ProbeOutcome } from '../probe-commands.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { sourcePod } from './pods.ts';
import { evaluatorVerdicts, resolveTarget } from './targets.ts';
import { sleep } from '../../shared/sleep.ts';

function shortName(pod: KubeObject): string {
  return pod.metadata.name;
}

/**
 * Waits (up to kubeProxyWaitMs) until kube-proxy on the node has a rule for the ClusterIP. Resolves
 * undefined once it has, or when this grader cannot look at nodes (the model cluster, which has no
 * kube-proxy to lag behind); otherwise why it never did.
 */
async function waitForKubeProxy(ctx: GradeContext, node: string, clusterIP: string, opts: CallOptions): Promise<string | undefined> {
  if (!ctx.nodes) return undefined;
  const end = Date.now() + ctx.kubeProxyWaitMs;
  for (;;) {
    const r = await ctx.nodes.exec(node, ['sh', '-c', DUMP_KUBE_PROXY_RULES], opts).catch(() => undefined);
    // A node the grader cannot reach gives no answer either way: probe as before rather than refuse.
    if (!r) return undefined;
    if (rulesMention(r.stdout, clusterIP)) return undefined;
    if (Date.now() + ctx.retryDelayMs > end || opts.signal?.aborted)
      return `kube-proxy on ${node} had not programmed ClusterIP ${clusterIP} after ${Math.round(ctx.kubeProxyWaitMs / 1000)} s`;
    await sleep(ctx.retryDelayMs, opts.signal);
  }
}

/** Passes when a connection from the pod gets through (or is blocked) as the check expects. */
export async function probeCheck(ctx: GradeContext, c: Check<'probe'>, opts: CallOptions): Promise<CheckOutcome> {
  const expected = c.httpStatus !== undefined ? `${c.expect} (HTTP ${c.httpStatus})` : c.expect;
  const src = await sourcePod(ctx, c.from, opts);
  if ('missing' in src) return { status: 'fail', expected, actual: 'not run', explanation: `the probe could not run: ${src.missing}` };
  const fromNs = src.pod.metadata.namespace ?? 'default';
  const target = await resolveTarget(ctx, c.to, c.port, fromNs, opts);
  if ('missing' in target) {
    // Nothing to connect to: a "blocked" expectation is not met honestly by a missing target.
    return {
      status: c.expect === 'blocked' ? 'error' : 'fail',
      expected,
      actual: 'no target',
      explanation: `${target.missing}, so the probe has nothing to connect to`,
    };
  }
  if (target.clusterIP) {
    const node = ((src.pod.spec ?? {}) as { nodeName?: string }).nodeName;
    const unserved = node ? await waitForKubeProxy(ctx, node, target.clusterIP, opts) : undefined;
    if (unserved)
      return {
        status: 'error',
        expected,
        actual: 'not run',
        explanation: `${unserved}, so no probe was sent (it would have left the node). This check is not scored; Check again in a moment.`,
      };
  }
  const argv = probeArgv(c.protocol, target.host, c.port, c.path);
  const want = c.expect === 'reachable';
  const started = Date.now();
  let outcome: ProbeOutcome | undefined;
  // Retry with fresh connections until the expected outcome shows up or the window closes: kindnet
  // applies policy changes within about a second, and only to new connections.
  for (;;) {
    let r;
    try {
      r = await ctx.port.exec({ namespace: fromNs, name: src.pod.metadata.name, ...(src.container ? { container: src.container } : {}) }, argv, opts);
    } catch (e) {
      // The container crashed between reading the pod and exec-ing into it: that is the pod's state
      // (as when the status already said so), not a grading error.
      if (e instanceof ClusterError && /container not found|is not running/i.test(e.message)) {
        return {
          status: 'fail',
          expected,
          actual: 'not run',
          explanation: `the probe could not run: container ${src.container ?? ''} of pod ${fromNs}/${src.pod.metadata.name} is not running (it is restarting)`,
        };
      }
      throw e;
    }
    outcome = classifyProbe(c.protocol, r.exitCode, r.stdout, r.stderr);
    if (outcome.kind === 'unknown' && /probe tool is missing/.test(outcome.detail)) break;
    // With httpStatus, a connection that answers with another status is not the expected outcome
    // yet (an ingress controller may still be picking up the rule): keep trying within the window.
    if ((outcome.kind === 'connected' && (c.httpStatus === undefined || statusMatches(c.httpStatus, outcome.httpStatus))) === want) break;
    if (Date.now() - started + ctx.retryDelayMs >= ctx.probeWindowMs || opts.signal?.aborted) break;
    await sleep(ctx.retryDelayMs, opts.signal);
  }
  const connected = outcome.kind === 'connected';
  const actual = connected ? `reachable (${outcome.detail})` : `${outcome.kind === 'unknown' ? 'failed' : 'blocked'} (${outcome.detail})`;
  const srcName = shortName(src.pod);
  const verdicts = await evaluatorVerdicts(ctx, src.pod, target, c.protocol === 'udp' ? 'UDP' : 'TCP', opts);
  const allDenied = verdicts !== undefined && verdicts.length > 0 && verdicts.every((v) => !v.allowed);
  const allAllowed = verdicts !== undefined && verdicts.length > 0 && verdicts.every((v) => v.allowed);
  const pick = verdicts?.find((v) => v.allowed === connected) ?? verdicts?.[0];
  const reason = pick?.reason;
  const head = `${srcName} ${connected ? 'reached' : 'could not reach'} ${target.display} on port ${c.port}`;
  // Through an ingress controller, what matters is which Ingress rule answered, not NetworkPolicy.
  const ingress =
    connected && c.protocol === 'http' && 'service' in c.to ? await ingressExplanation(ctx, c.to.service, fromNs, target.host, c.path, opts) : undefined;
  const via = connected && target.endpoints && !ingress ? ` through ${target.endpoints}` : '';

  if (outcome.kind === 'unknown') return { status: 'error', expected, actual, explanation: `the probe gave no clear answer: ${outcome.detail}` };
  // The live result contradicts what the objects say: blame the cluster (kindnet fails open), not the learner.
  if (connected && allDenied) {
    return {
      status: 'error',
      expected,
      actual,
      explanation: `enforcement suspicious: ${head}, but NetworkPolicy should block it (${reason ?? 'denied'}). The cluster's network plugin is not enforcing policy; this check is not scored against you.`,
    };
  }
  if (outcome.kind === 'timeout' && allAllowed && !target.emptyReason) {
    return {
      status: 'error',
      expected,
      actual,
      explanation: `enforcement suspicious: ${head} (timed out), although no NetworkPolicy blocks it (${reason ?? 'allowed'}). The cluster's network may be unhealthy; this check is not scored.`,
    };
  }
  if (connected && c.httpStatus !== undefined && !statusMatches(c.httpStatus, outcome.kind === 'connected' ? outcome.httpStatus : undefined)) {
    return {
      status: 'fail',
      expected,
      actual,
      explanation: `${head}, but the answer was ${outcome.detail}, not HTTP ${c.httpStatus}: ${ingress ?? `the request reached a server that did not serve ${c.path} as expected`}`,
    };
  }
  let why: string;
  if (outcome.kind === 'refused') why = target.emptyReason ?? `the connection was refused: nothing listens on port ${c.port} there`;
  else if (outcome.kind === 'dns') why = `the name ${target.host} did not resolve`;
  else if (target.emptyReason && !connected) why = target.emptyReason;
  else why = ingress ?? reason ?? outcome.detail;
  const explanation = `${head}${via}: ${why}`;
  return { status: connected === want ? 'pass' : 'fail', expected, actual, explanation };
}

/**
 * When the probe's Service is an ingress controller's entry point (Ingresses exist and none routes
 * to this Service), which Ingress rule a request for path matches — or why none does. Undefined
 * for an ordinary Service.
 */
async function ingressExplanation(
  ctx: GradeContext,
  service: string,
  fromNs: string,
  host: string,
  path: string,
  opts: CallOptions,
): Promise<string | undefined> {
  const [namespace, name] = service.includes('/') ? service.split('/') : [fromNs, service];
  const ingresses = await ctx.list({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, opts);
  if (ingresses.length === 0) return undefined;
  const backends = ingresses.flatMap((i) => {
    const spec = (i.spec ?? {}) as {
      defaultBackend?: { service?: { name: string } };
      rules?: { http?: { paths?: { backend: { service?: { name: string } } }[] } }[];
    };
    const names = [spec.defaultBackend?.service?.name, ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend.service?.name))];
    return names.filter((n): n is string => n !== undefined).map((n) => `${i.metadata.namespace ?? 'default'}/${n}`);
  });
  if (backends.includes(`${namespace}/${name}`)) return undefined;
  const classes = await ctx.list({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass' }, opts);
  const match = matchIngress(ingresses, classes, host, path.split('?')[0] ?? path);
  const route = match.route;
  let problem: string | undefined;
  if (route?.service) {
    // A backend that names a Service or port that does not exist answers 404/503 from the controller.
    const [svcNs, svcName] = route.service.split('/');
    const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: svcNs ?? '', name: svcName ?? '' }, opts);
    const ports = ((svc?.spec ?? {}) as { ports?: { port: number; name?: string }[] }).ports ?? [];
    if (!svc) problem = `Service ${route.service} does not exist`;
    else if (route.port !== undefined && !ports.some((p) => p.port === route.port || p.name === route.port))
      problem = `Service ${route.service} has no port ${route.port} (its ports: ${ports.map((p) => p.port).join(', ')})`;
  }
  return explainIngressMatch(match, path, problem);
}
