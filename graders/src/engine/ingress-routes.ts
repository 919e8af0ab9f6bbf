import type { KubeObject } from '../cluster/port.ts';

// Which Ingress rule a request reaches, decided from the objects as the Ingress API defines it, so a
// probe through an ingress controller can say which Ingress, path and backend answered — or why
// none did. Semantics (networking.k8s.io/v1):
// - An Ingress belongs to spec.ingressClassName (or the legacy kubernetes.io/ingress.class
//   annotation); with neither, to the IngressClass annotated as the cluster default; with no
//   default, no controller serves it.
// - A rule with a host matches only that Host header (a "*." wildcard covers one label).
// - pathType Exact matches the path as written; Prefix matches whole "/"-separated elements ("/api"
//   covers "/api" and "/api/status", not "/apis"); ImplementationSpecific is treated as Prefix,
//   which is what Traefik and ingress-nginx do for plain paths.
// - The longest matching path wins across all Ingresses of the class; Exact beats Prefix on a tie.
//   Without a matching path, an Ingress's spec.defaultBackend answers.

interface Backend {
  service?: { name: string; port?: { number?: number; name?: string } };
}
interface HttpPath {
  path?: string;
  pathType?: string;
  backend: Backend;
}
interface IngressSpec {
  ingressClassName?: string;
  defaultBackend?: Backend;
  rules?: { host?: string; http?: { paths?: HttpPath[] } }[];
}

/** A route an Ingress offers: where it lives, its class and what it sends where. */
export interface IngressRoute {
  ingress: string;
  className: string;
  path: string;
  pathType: string;
  backend: string;
  /** The backend Service, "namespace/name", and the port the rule names. */
  service: string | undefined;
  port: number | string | undefined;
  /** The rule's host, when it has one (it then matches only that Host header). */
  host?: string;
}

/** The answer for one request: the winning route, the routes considered, and Ingresses no controller serves. */
export interface IngressMatch {
  route: IngressRoute | undefined;
  considered: IngressRoute[];
  ignored: string[];
}

function backendText(b: Backend): { text: string; service: string | undefined; port: number | string | undefined } {
  if (!b.service) return { text: 'a non-Service backend', service: undefined, port: undefined };
  const port = b.service.port?.number ?? b.service.port?.name;
  return { text: `Service ${b.service.name}${port !== undefined ? ` port ${port}` : ''}`, service: b.service.name, port };
}

function hostMatches(ruleHost: string | undefined, host: string): boolean {
  if (!ruleHost) return true;
  if (ruleHost.startsWith('*.')) {
    const rest = host.split('.').slice(1).join('.');
    return rest === ruleHost.slice(2) && host.split('.')[0] !== '';
  }
  return ruleHost === host;
}

function pathMatches(pathType: string, rulePath: string, path: string): boolean {
  if (pathType === 'Exact') return rulePath === path;
  const want = rulePath.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  return want.length <= have.length && want.every((part, i) => have[i] === part);
}

function classOf(ing: KubeObject, defaultClass: string | undefined): string | undefined {
  const spec = (ing.spec ?? {}) as IngressSpec;
  return spec.ingressClassName ?? ing.metadata.annotations?.['kubernetes.io/ingress.class'] ?? defaultClass;
}

/** Decides which Ingress route a request for host+path reaches, among the given Ingresses and IngressClasses. */
export function matchIngress(ingresses: readonly KubeObject[], classes: readonly KubeObject[], host: string, path: string): IngressMatch {
  const classNames = classes.map((c) => c.metadata.name);
  const defaultClass = classes.find((c) => c.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true')?.metadata.name;
  const considered: IngressRoute[] = [];
  const ignored: string[] = [];
  let best: { route: IngressRoute; length: number; exact: boolean } | undefined;
  let fallback: IngressRoute | undefined;
  for (const ing of ingresses) {
    const id = `${ing.metadata.namespace ?? 'default'}/${ing.metadata.name}`;
    const className = classOf(ing, defaultClass);
    if (!className) {
      ignored.push(`Ingress ${id} names no ingressClassName and no IngressClass is the default, so no controller serves it`);
      continue;
    }
    if (!classNames.includes(className)) {
      ignored.push(`Ingress ${id} asks for class ${className}, which does not exist here (IngressClasses: ${classNames.join(', ') || 'none'})`);
      continue;
    }
    const spec = (ing.spec ?? {}) as IngressSpec;
    for (const rule of spec.rules ?? []) {
      const hostOk = hostMatches(rule.host, host);
      for (const p of rule.http?.paths ?? []) {
        const rulePath = p.path ?? '/';
        const pathType = p.pathType ?? 'ImplementationSpecific';
        const b = backendText(p.backend);
        const route: IngressRoute = {
          ingress: id,
          className,
          path: rulePath,
          pathType,
          backend: b.text,
          service: b.service && `${ing.metadata.namespace ?? 'default'}/${b.service}`,
          port: b.port,
          ...(rule.host ? { host: rule.host } : {}),
        };
        considered.push(route);
        if (!hostOk || !pathMatches(pathType, rulePath, path)) continue;
        const length = rulePath.replace(/\/+$/, '').length;
        const exact = pathType === 'Exact';
        if (!best || length > best.length || (length === best.length && exact && !best.exact)) best = { route, length, exact };
      }
    }
    if (spec.defaultBackend && !fallback) {
      const b = backendText(spec.defaultBackend);
      fallback = {
        ingress: id,
        className,
        path: '(default backend)',
        pathType: 'default',
        backend: b.text,
        service: b.service && `${ing.metadata.namespace ?? 'default'}/${b.service}`,
        port: b.port,
      };
    }
  }
  return { route: best?.route ?? fallback, considered, ignored };
}

/** One line for a route: "Ingress shop/shop (class traefik), path /api (Prefix) → Service api port 80". */
export function describeRoute(r: IngressRoute): string {
  return `Ingress ${r.ingress} (class ${r.className}), ${r.pathType === 'default' ? 'its default backend' : `path ${r.path} (${r.pathType})`} → ${r.backend}`;
}

/** Why a request for path reached what it reached, in words for the learner. */
export function explainIngressMatch(m: IngressMatch, path: string, backendProblem?: string): string {
  const ignored = m.ignored.length ? `; ${m.ignored.join('; ')}` : '';
  if (m.route) return `the request for ${path} matched ${describeRoute(m.route)}${backendProblem ? `, but ${backendProblem}` : ''}${ignored}`;
  const offered = m.considered.length
    ? `the Ingress rules offer ${m.considered.map((r) => `${r.path} (${r.pathType}${r.host ? `, only for host ${r.host}` : ''}) → ${r.backend.replace(/^Service /, '')} in ${r.ingress}`).join(', ')}`
    : 'no Ingress offers any path';
  return `no Ingress rule matches ${path}: ${offered}${ignored}`;
}
