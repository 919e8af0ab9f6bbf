// npm run bench:provision — numbers for attempts on the fake kind host (our own overhead only;
// kind's and Kubernetes' time is replayed, not measured), printed (never asserted):
//   1. Start → ready when a warm cluster is available (claim, image preload check, setup apply
//      of the netpol-lab9server lab's real manifests, readiness wait)     goal p95 ≤ 200 ms
//   2. 20 simultaneous Starts with clusters.maxConcurrent = 4: peak concurrent creates and
//      clusters, errors, wall time until all 20 were ready (each learner finishes 50 ms after ready)
// With --real it measures real kind clusters instead (provision-real.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { harness } from '../../server/src/attempts/test-harness.ts';
import type { AttemptService } from '../../server/src/attempts/attempt-service.ts';
import { lab9server, testLab } from '../../server/src/provisioner/testing/lab-fixtures.ts';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Resolves with the final status once the attempt is ready (or has ended). */
function settled(service: AttemptService, id: string): Promise<string> {
  return new Promise((resolve) => {
    const done = (name: string) => ['ready', 'failed', 'finished', 'expired'].includes(name);
    const sub = service.subscribe(id, 0, (e) => {
      if (e.type === 'status' && done(e.name)) {
        sub.unsubscribe();
        resolve(e.name);
      }
    });
    const hit = sub.replay.find((e) => e.type === 'status' && done(e.name));
    if (hit) {
      sub.unsubscribe();
      resolve(hit.name);
    }
  });
}

async function warmPool() {
  console.log('\n1. Start → ready with a warm cluster (fake kind host, lab netpol-lab9server)');
  const h = harness({
    clusters: { poolSize: 1, poolShapes: ['w1-netpol'], maxConcurrent: 4 },
    labs: [lab9server()],
    fake: { hostImages: ['docker.io/library/nginx:1.27.4', 'docker.io/library/busybox:1.37.0'] },
  });
  const times: number[] = [];
  // Fill the pool once (the replacement after each claim is created in the background).
  const warmup = h.service.start('warmup', 'netpol-lab9server').attempt.id;
  await settled(h.service, warmup);
  h.service.finish(warmup);
  await h.service.idle();
  for (let i = 0; i < 60; i++) {
    await h.service.idle();
    if (h.service.stats().clusters.warm < 1) throw new Error('the pool did not refill');
    const t0 = performance.now();
    const { attempt } = h.service.start(`learner-${i}`, 'netpol-lab9server');
    const status = await settled(h.service, attempt.id);
    const dt = performance.now() - t0;
    if (status !== 'ready') throw new Error(`attempt ${i} ended ${status}`);
    if (i >= 10) times.push(dt); // the first runs warm up the JIT and the file cache
    h.service.finish(attempt.id);
  }
  await h.service.idle();
  await h.service.close();
  times.sort((a, b) => a - b);
  const p50 = quantile(times, 0.5);
  const p95 = quantile(times, 0.95);
  console.log(
    `  Start → ready p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms over ${times.length} starts   goal p95 ≤ 200 ms ${p95 <= 200 ? 'ok' : 'OVER GOAL'}`,
  );
}

async function burst() {
  console.log('\n2. 20 simultaneous Starts, clusters.maxConcurrent = 4 (creates take ~9 × 15 ms of replayed kind output)');
  const h = harness({ clusters: { maxConcurrent: 4 }, labs: [testLab('alpha', { cluster: { workers: 1 } })], fake: { stageDelayMs: 15 } });
  let peakClusters = 0;
  const sampler = setInterval(() => {
    const c = h.service.stats().clusters;
    peakClusters = Math.max(peakClusters, c.creating + c.warm + c.claimed + c.deleting);
  }, 1);
  const t0 = performance.now();
  const ids = Array.from({ length: 20 }, (_, i) => h.service.start(`learner-${i}`, 'alpha').attempt.id);
  const results = await Promise.all(
    ids.map(async (id) => {
      const status = await settled(h.service, id);
      if (status === 'ready') setTimeout(() => h.service.finish(id), 50);
      return status;
    }),
  );
  const wall = performance.now() - t0;
  await sleep(100); // the last learners finish
  await h.service.idle();
  clearInterval(sampler);
  await h.service.close();
  const errors = results.filter((s) => s !== 'ready').length;
  console.log(`  reached ready            ${results.filter((s) => s === 'ready').length} / 20`);
  console.log(`  errors                   ${errors}`);
  console.log(`  peak concurrent creates  ${h.host.maxCreating}   (cap 4) ${h.host.maxCreating <= 4 ? 'ok' : 'OVER CAP'}`);
  console.log(`  peak clusters on host    ${peakClusters}   (cap 4) ${peakClusters <= 4 ? 'ok' : 'OVER CAP'}`);
  console.log(`  wall time                ${(wall / 1000).toFixed(2)} s`);
  console.log(`  clusters left            ${h.host.clusters.size}`);
}

if (process.argv.includes('--real')) {
  // Real kind clusters (testbed node image): see provision-real.ts.
  await (await import('./provision-real.ts')).benchReal();
} else {
  await warmPool();
  await burst();
}
