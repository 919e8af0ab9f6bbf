import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../cluster/port.ts';
import { explainIngressMatch, matchIngress } from './ingress-routes.ts';

const cls = (name: string, isDefault = false): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
});
function ing(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'shop' }, spec };
}
const path = (p: string, pathType: string, service: string) => ({ path: p, pathType, backend: { service: { name: service, port: { number: 80 } } } });
const shop = ing('shop', {
  ingressClassName: 'traefik',
  rules: [{ http: { paths: [path('/', 'Prefix', 'web'), path('/api', 'Prefix', 'api'), path('/api/status', 'Exact', 'status')] } }],
});

describe('Ingress route matching', () => {
  it('takes the longest matching path; Prefix matches whole path elements; Exact only the path itself', () => {
    const at = (p: string) => matchIngress([shop], [cls('traefik')], '10.96.0.9', p).route?.service;
    assert.equal(at('/api/status'), 'shop/status');
    assert.equal(at('/api/orders'), 'shop/api');
    assert.equal(at('/api'), 'shop/api');
    assert.equal(at('/apis'), 'shop/web', '/api is not a prefix of /apis');
  });

  it('honours hosts, classes and the default class, and says which Ingresses no controller serves', () => {
    const hosted = ing('hosted', { ingressClassName: 'traefik', rules: [{ host: 'shop.example', http: { paths: [path('/', 'Prefix', 'web')] } }] });
    const classless = ing('docs', { rules: [{ http: { paths: [path('/docs', 'Prefix', 'docs')] } }] });
    const nginx = ing('legacy', { ingressClassName: 'nginx', rules: [{ http: { paths: [path('/old', 'Prefix', 'old')] } }] });
    const m = matchIngress([hosted, classless, nginx], [cls('traefik')], '10.96.0.9', '/docs/index.html');
    assert.equal(m.route, undefined);
    assert.equal(
      explainIngressMatch(m, '/docs/index.html'),
      'no Ingress rule matches /docs/index.html: the Ingress rules offer / (Prefix, only for host shop.example) → web port 80 in shop/hosted; Ingress shop/docs names no ingressClassName and no IngressClass is the default, so no controller serves it; Ingress shop/legacy asks for class nginx, which does not exist here (IngressClasses: traefik)',
    );
    assert.equal(matchIngress([hosted], [cls('traefik')], 'shop.example', '/x').route?.service, 'shop/web', 'the host matches');
    assert.equal(
      matchIngress([classless], [cls('traefik', true)], '10.96.0.9', '/docs/a').route?.className,
      'traefik',
      'a classless Ingress belongs to the default class',
    );
  });

  it("falls back to an Ingress's default backend when no path matches", () => {
    const withDefault = ing('catch', {
      ingressClassName: 'traefik',
      defaultBackend: { service: { name: 'fallback', port: { number: 80 } } },
      rules: [{ http: { paths: [path('/api', 'Exact', 'api')] } }],
    });
    const m = matchIngress([withDefault], [cls('traefik')], 'h', '/other');
    assert.equal(
      explainIngressMatch(m, '/other'),
      'the request for /other matched Ingress shop/catch (class traefik), its default backend → Service fallback port 80',
    );
  });
});
