import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ADDON_NAMES } from '../../server/src/labs/format.ts';
import { addonImages } from '../../server/src/provisioner/addons.ts';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  KIND_LB_IMAGE,
  LAB_IMAGES,
  TESTBED_ASSETS,
  TESTBED_VERSIONS,
  addonImageNames,
  kindClusterConfig,
  kindLoadBalancerImage,
  kubernetesLdflags,
  nodeImageNames,
  readStamp,
  readTestbedStatus,
  testbedCacheDir,
  wrapperGoMod,
  alignmentPins,
  alignmentLabel,
  alignmentRequires,
} from './testbed.ts';

const K8S_GO_MOD = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.25.0

godebug default=go1.25

require (
	github.com/blang/semver/v4 v4.0.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
)
`;

test('the Kubernetes wrapper module replaces each staging module with its published v0 release', () => {
  const mod = wrapperGoMod('k8s.io/kubernetes', 'v1.35.4', K8S_GO_MOD, 'v0.35.4');
  assert.match(mod, /^go 1\.25\.0$/m);
  assert.match(mod, /^require k8s\.io\/kubernetes v1\.35\.4$/m);
  assert.match(mod, /^\tdefault=go1\.25$/m, 'godebug only applies in the main module, so it is repeated');
  assert.match(mod, /^\tk8s\.io\/api => k8s\.io\/api v0\.35\.4$/m);
  assert.match(mod, /^\tk8s\.io\/client-go => k8s\.io\/client-go v0\.35\.4$/m);
  assert.doesNotMatch(mod, /staging/);
});

test('replaces that point at other modules are kept as they are (traefik forks)', () => {
  const upstream =
    'module github.com/traefik/traefik/v3\n\ngo 1.25.0\n\nreplace github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59 // forked\n';
  const mod = wrapperGoMod('github.com/traefik/traefik/v3', 'v3.6.12', upstream);
  assert.match(mod, /^\tgithub\.com\/gorilla\/mux => github\.com\/containous\/mux v0\.0\.0-20250523120546-41b6ec3aed59$/m);
});

test('extra replaces pin a dependency whose required version the proxy does not serve', () => {
  const mod = wrapperGoMod('example.com/m', 'v1.0.0', 'module example.com/m\ngo 1.26.0\n', undefined, {
    'github.com/vishvananda/netlink': 'github.com/vishvananda/netlink v1.3.1',
  });
  assert.match(mod, /^\tgithub\.com\/vishvananda\/netlink => github\.com\/vishvananda\/netlink v1\.3\.1$/m);
});

test('a local replace with a version on its left becomes the published sibling at the same version', () => {
  const mod = wrapperGoMod('go.etcd.io/etcd/v3', 'v3.6.6', 'module go.etcd.io/etcd/v3\ngo 1.24\nreplace go.etcd.io/etcd/api/v3 v3.0.0 => ./api\n');
  assert.match(mod, /^\tgo\.etcd\.io\/etcd\/api\/v3 => go\.etcd\.io\/etcd\/api\/v3 v3\.6\.6$/m);
  assert.doesNotMatch(mod, /godebug/, 'no godebug block when upstream has none');
});

test('an unreadable replace directive is an error naming the module, not a silent skip', () => {
  assert.throws(() => wrapperGoMod('example.com/m', 'v1.0.0', 'replace (\n\tfoo\n)\n'), /example\.com\/m/);
});

test('version ldflags stamp both version packages, so kubeadm sees a real release', () => {
  const flags = kubernetesLdflags('v1.35.4');
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    assert.ok(flags.includes(`-X ${pkg}.gitVersion=v1.35.4`), pkg);
    assert.ok(flags.includes(`-X ${pkg}.gitMajor=1`), pkg);
    assert.ok(flags.includes(`-X ${pkg}.gitMinor=35`), pkg);
    assert.ok(flags.includes(`-X ${pkg}.gitTreeState=clean`), pkg);
  }
  assert.throws(() => kubernetesLdflags('1.35'), /not a Kubernetes release version/);
  assert.throws(() => kubernetesLdflags('v1.35.4+dirty'), /not a Kubernetes release version/, '"+" would become "_" in image tags');
});

test('control-plane image names carry the exact tags kubeadm asks for', () => {
  const names = nodeImageNames();
  assert.equal(names.apiserver, `registry.k8s.io/kube-apiserver:${TESTBED_VERSIONS.kubernetes}`);
  assert.equal(names.etcd, 'registry.k8s.io/etcd:3.6.6-0');
  assert.equal(names.coredns, 'registry.k8s.io/coredns/coredns:v1.13.1');
  assert.equal(names.pause, 'registry.k8s.io/pause:3.10.1');
});

test('kind cluster config has one control plane and the asked-for workers', () => {
  const cfg = parse(kindClusterConfig(2)) as { kind: string; nodes: { role: string }[] };
  assert.equal(cfg.kind, 'Cluster');
  assert.deepEqual(
    cfg.nodes.map((n) => n.role),
    ['control-plane', 'worker', 'worker'],
  );
  assert.equal((parse(kindClusterConfig(0)) as { nodes: unknown[] }).nodes.length, 1);
});

test('status names what is missing, so suites print why they skip', () => {
  const ok = () => true;
  assert.match(readTestbedStatus({ dockerWorks: () => false, kindWorks: ok, imageExists: ok }).reason ?? '', /Docker is not reachable/);
  assert.match(readTestbedStatus({ dockerWorks: ok, kindWorks: () => false, imageExists: ok }).reason ?? '', /kind CLI/);
  const noNginx = readTestbedStatus({ dockerWorks: ok, kindWorks: ok, imageExists: (t) => t !== LAB_IMAGES.nginx });
  assert.equal(noNginx.available, false);
  assert.match(noNginx.reason ?? '', /nginx:1\.27\.4.*scripts\/testbed build/);
  const all = readTestbedStatus({ dockerWorks: ok, kindWorks: ok, imageExists: ok });
  assert.equal(all.available, true);
  assert.equal(all.reason, undefined);
  assert.deepEqual(all.labImages, Object.values(LAB_IMAGES));
});

test('step stamps: a missing or corrupt stamp means "build again"', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kdtb-'));
  const good = path.join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ key: 'abc', seconds: 12.5, finishedAt: '2026-11-29T00:00:00Z' }));
  assert.equal(readStamp(good)?.key, 'abc');
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"key": 1');
  assert.equal(readStamp(bad), undefined);
  assert.equal(readStamp(path.join(dir, 'none.json')), undefined);
});

test('the cache lives outside the checkout unless told otherwise', () => {
  assert.equal(testbedCacheDir({}), '/var/cache/kubedrill-testbed');
  assert.equal(testbedCacheDir({ KUBEDRILL_TESTBED_CACHE: '/tmp/x' }), '/tmp/x');
});

test('the proof picks an unused address inside a range, skipping what is taken', async () => {
  const { inCidr, unusedAddress } = await import('./testbed-proof.ts');
  assert.equal(
    unusedAddress('10.96.0.0/16', () => false),
    '10.96.255.254',
  );
  assert.equal(
    unusedAddress('10.96.0.0/16', (ip) => ip === '10.96.255.254'),
    '10.96.255.253',
  );
  // The pod range's last /24 belongs to a node: the search goes below it.
  assert.equal(
    unusedAddress('10.244.0.0/16', (ip) => inCidr(ip, '10.244.255.0/24')),
    '10.244.254.255',
  );
  assert.equal(
    unusedAddress('not a cidr', () => false),
    undefined,
  );
  assert.ok(inCidr('10.244.1.7', '10.244.1.0/24'));
  assert.ok(!inCidr('10.244.2.7', '10.244.1.0/24'));
});

test('the testbed builds every image an add-on manifest runs, and the local-path images its node image preloads', async () => {
  const built = new Set([...Object.values(LAB_IMAGES), ...Object.values(addonImageNames()), ...Object.values(nodeImageNames())]);
  for (const addon of ADDON_NAMES) {
    for (const image of await addonImages(addon)) assert.ok(built.has(image), `add-on ${addon} runs ${image}, which scripts/testbed does not build`);
  }
  const storage = readFileSync(path.join(TESTBED_ASSETS, 'node', 'files', 'kind', 'manifests', 'default-storage.yaml'), 'utf8');
  assert.match(storage, /volumeBindingMode: WaitForFirstConsumer/);
  assert.match(storage, /is-default-class: "true"/);
  assert.equal(nodeImageNames().localPath, `docker.io/rancher/local-path-provisioner:${TESTBED_VERSIONS.localPath}`);
});

test("kind's load-balancer image: read from kind's source, required by status, and its Go stand-in passes go test", (t) => {
  assert.equal(
    kindLoadBalancerImage('package loadbalancer\n\n// Image defines the loadbalancer image:tag\nconst Image = "docker.io/envoyproxy/envoy:v1.36.2"\n'),
    KIND_LB_IMAGE,
  );
  assert.equal(kindLoadBalancerImage('package loadbalancer\n'), undefined);
  const noLb = readTestbedStatus({ dockerWorks: () => true, kindWorks: () => true, imageExists: (i) => i !== KIND_LB_IMAGE });
  assert.equal(noLb.available, false);
  assert.match(noLb.reason ?? '', /envoyproxy\/envoy:v1\.36\.2/);
  const go = ['/usr/local/go/bin/go', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'go'))].find((g) => existsSync(g));
  if (!go) return t.skip('no Go toolchain here (scripts/testbed build needs one too)');
  const out = execFileSync(go, ['test', '-count=1', './...'], {
    cwd: path.join(TESTBED_ASSETS, 'lb'),
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
  assert.match(out, /^ok\s/m);
});

test("an extra replace overrides upstream's replace of the same module instead of adding a second one", () => {
  const upstream = 'module example.com/m\ngo 1.26.0\nreplace (\n\tk8s.io/api => k8s.io/api v0.33.0\n\tk8s.io/utils v0.0.0-1 => ./utils\n)\n';
  const mod = wrapperGoMod('example.com/m', 'v1.0.0', upstream, undefined, { 'k8s.io/api': 'k8s.io/api v0.35.4', 'k8s.io/utils': 'k8s.io/utils v0.0.0-2' });
  assert.equal(mod.match(/k8s\.io\/api =>/g)?.length, 1);
  assert.match(mod, /^\tk8s\.io\/api => k8s\.io\/api v0\.35\.4$/m);
  assert.equal(mod.match(/k8s\.io\/utils =>/g)?.length, 1);
  assert.match(mod, /^\tk8s\.io\/utils => k8s\.io\/utils v0\.0\.0-2$/m);
});

test('alignment pins every module the donor built from, at the version (or replacement) it used', () => {
  const listed = [
    'kubedrill.test/testbed/wrapper kubedrill.test/testbed/wrapper ', // the donor's own wrapper: no version
    'k8s.io/api k8s.io/api v0.35.4',
    'golang.org/x/net golang.org/x/net v0.47.0',
    'go.etcd.io/etcd/api/v3 go.etcd.io/etcd/api/v3 v3.6.5',
    'go.etcd.io/etcd/client/v3 go.etcd.io/etcd/client/v3 v3.6.5',
    'github.com/gorilla/mux github.com/containous/mux v0.0.0-2025',
    '',
  ].join('\n');
  assert.deepEqual(alignmentPins(listed, ['go.etcd.io/etcd']), {
    'k8s.io/api': 'k8s.io/api v0.35.4',
    'golang.org/x/net': 'golang.org/x/net v0.47.0',
    'github.com/gorilla/mux': 'github.com/containous/mux v0.0.0-2025',
  });
  assert.deepEqual(
    Object.keys(alignmentPins(listed, ['k8s.io/ap'])).sort(),
    Object.keys(alignmentPins(listed)).sort(),
    'a prefix matches whole path elements only',
  );
});

test('alignment labels outrank every real version of the same major, and skip +incompatible modules', () => {
  assert.equal(alignmentLabel('k8s.io/client-go', 'v0.35.4'), 'v1.999999.0');
  assert.equal(alignmentLabel('github.com/google/uuid', 'v1.6.0'), 'v1.999999.0');
  assert.equal(alignmentLabel('k8s.io/klog/v2', 'v2.130.1'), 'v2.999999.0');
  assert.equal(alignmentLabel('gopkg.in/yaml.v3', 'v3.0.1'), 'v3.999999.0');
  assert.equal(alignmentLabel('github.com/docker/docker', 'v28.2.2+incompatible'), undefined);
});

test('an aligned build requires only the pinned modules it compiles, at their labels, in its wrapper', () => {
  const pins = {
    'k8s.io/api': 'k8s.io/api v0.35.4',
    'golang.org/x/net': 'golang.org/x/net v0.47.0',
    'github.com/docker/docker': 'github.com/docker/docker v28.2.2+incompatible',
  };
  const requires = alignmentRequires(pins, ['k8s.io/api', 'github.com/docker/docker', 'example.com/own']);
  assert.deepEqual(requires, { 'k8s.io/api': 'v1.999999.0' });
  const mod = wrapperGoMod('example.com/own', 'v1.0.0', 'module example.com/own\ngo 1.26.0\n', undefined, pins, { ...requires, 'example.com/own': 'v9.0.0' });
  assert.match(mod, /^require \(\n\tk8s\.io\/api v1\.999999\.0\n\)$/m);
  assert.match(mod, /^\tk8s\.io\/api => k8s\.io\/api v0\.35\.4$/m, 'the label is never fetched: the pin replaces every version');
  assert.doesNotMatch(mod, /example\.com\/own v9/, 'the built module itself stays at its release');
});
