import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckDecl } from '../checks/schema.ts';
import type { ClusterPort, KubeObject } from '../cluster/port.ts';
import { ModelCluster } from '../model/model-cluster.ts';
import { ceilingPercent, mistakeGate, runHonestyGates, type MistakeRun } from './gates.ts';
import { gradeLab } from './engine.ts';
import type { GradableLab, GradeReport } from './types.ts';

// The mistake gates on a tiny lab: two ConfigMap fields, each worth half.

const field = (id: string, key: string, value: string, extra: Record<string, unknown> = {}) =>
  CheckDecl.parse({
    id,
    kind: 'field',
    resource: { kind: 'ConfigMap', namespace: 'default', name: 'facts' },
    path: `{.data.${key}}`,
    equals: value,
    message: `${key} is ${value}`,
    ...extra,
  });
const lab: GradableLab = {
  id: 'facts',
  dir: '/tmp',
  tasks: [{ id: 'record', title: 'Record facts', points: 10, checks: [field('domain', 'domain', 'cluster.local'), field('range', 'range', '10.96.0.0/12')] }],
};
const facts = (data: Record<string, string>): KubeObject[] => [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'facts', namespace: 'default' }, data },
];
const setup: KubeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }];
const solution = facts({ domain: 'cluster.local', range: '10.96.0.0/12' });

function freshMistake(name: string, maxPercent: number, objects: KubeObject[]): MistakeRun {
  return {
    mistake: { name, title: `the ${name} answer`, maxPercent },
    enter: async () => {
      const port = new ModelCluster({ workers: 0 });
      await port.apply([...setup, ...objects]);
      return { port };
    },
  };
}

describe('mistake gates', () => {
  it('pass a mistake within its cap and fail one above it, naming the mistake and what earned points', async () => {
    const port = new ModelCluster({ workers: 0 });
    const wrongRange = facts({ domain: 'cluster.local', range: '10.244.0.0/16' });
    const result = await runHonestyGates({
      lab,
      port,
      setup,
      solution,
      mistakes: [freshMistake('wrong-range', 50, wrongRange), freshMistake('too-generous', 40, wrongRange)],
    });
    const gates = result.gates.filter((g) => g.name === 'mistake-is-capped');
    assert.deepEqual(
      gates.map((g) => [g.mistake?.name, g.passed, g.report.percent]),
      [
        ['wrong-range', true, 50],
        ['too-generous', false, 50],
      ],
    );
    assert.equal(result.passed, false);
    assert.deepEqual(gates[1]?.problems, [
      'mistake too-generous ("the too-generous answer") may score 50%, more than its maxPercent 40%',
      '  task record scores 5/10: domain passed (5)',
    ]);
    assert.deepEqual(
      result.gates.map((g) => g.name),
      ['nothing-earns-nothing', 'mistake-is-capped', 'mistake-is-capped', 'solution-earns-all', 'grading-is-stable'],
      'mistakes run between the empty state and the solution',
    );
  });

  it('after setup, a check the settling cluster could not answer is asked again (with settle), never counted as answered', async () => {
    const model = new ModelCluster({ workers: 0 });
    let failing = 2;
    const settling = Object.assign(Object.create(model) as ModelCluster, {
      get: async (...args: Parameters<ModelCluster['get']>) => {
        if (failing-- > 0) throw new Error('the cluster is still settling');
        return model.get(...args);
      },
    });
    const settled = await runHonestyGates({ lab, port: settling, setup, solution, settle: { maxGrades: 3, cleanTimeoutMs: 0, errorRetryMs: 0 } });
    assert.equal(settled.gates[0]?.passed, true, settled.gates[0]?.problems.join('\n'));
    failing = 2;
    const once = await runHonestyGates({ lab, port: settling, setup, solution });
    assert.equal(once.gates[0]?.passed, false, 'without settle one grade decides');
    assert.match(once.gates[0]?.problems.join('\n') ?? '', /after setup, .* is error/);
  });

  it('after setup, the state later gates compare with is the settled one: a check that changes once setup has started is graded until two grades agree', async () => {
    // Setup's ConfigMap shows from the second grade on (a grade reads it once), as a container of a workload broken on purpose (which
    // setup does not wait for) starts a moment after setup is "ready". Its check is a guard, so it
    // earns nothing alone; a mistake that changes nothing must then find the lab as it was after setup.
    const guarded: GradableLab = {
      ...lab,
      tasks: [{ ...lab.tasks[0]!, checks: [field('domain', 'domain', 'cluster.local', { guard: true }), lab.tasks[0]!.checks[1]!] }],
    };
    const run = async (settle: { maxGrades: number; cleanTimeoutMs: number; errorRetryMs: number } | undefined) => {
      const model = new ModelCluster({ workers: 0 });
      let hidden = 1;
      const starting = Object.assign(Object.create(model) as ModelCluster, {
        get: async (...args: Parameters<ModelCluster['get']>) => (hidden-- > 0 ? undefined : model.get(...args)),
      });
      const noChange: MistakeRun = {
        mistake: { name: 'no-change', title: 'nothing done', maxPercent: 0 },
        enter: async () => ({ port: starting }),
        leave: async () => {},
      };
      return runHonestyGates({
        lab: guarded,
        port: starting,
        setup: [...setup, ...facts({ domain: 'cluster.local' })],
        solution,
        mistakes: [noChange],
        ...(settle ? { settle } : {}),
      });
    };
    const settled = await run({ maxGrades: 4, cleanTimeoutMs: 0, errorRetryMs: 0 });
    assert.deepEqual(
      settled.gates.map((g) => [g.name, g.passed, g.problems.join('; ')]),
      [
        ['nothing-earns-nothing', true, ''],
        ['mistake-is-capped', true, ''],
        ['solution-earns-all', true, ''],
        ['grading-is-stable', true, ''],
      ],
    );
    assert.equal(settled.gates[0]!.report.tasks[0]!.checks[0]!.status, 'pass', 'the guard as it settled, not as the first read saw it');
    const once = await run(undefined);
    assert.match(once.gates[1]!.problems.join('\n'), /after taking mistake no-change off again, the lab does not grade as it did right after setup/);
  });

  it('grade the reference solution until a controller acting after it is done (with settle), and only then ask that grading is stable', async () => {
    // A controller finishes the solution's state two reads after it was applied (as an autoscaler
    // scaling a Deployment mid-rollout): the first grades see the range missing.
    const model = new ModelCluster({ workers: 0 });
    let reads = 0;
    const lagging = Object.assign(Object.create(model) as ModelCluster, {
      get: async (...args: Parameters<ModelCluster['get']>) => {
        const o = await model.get(...args);
        const data = o?.data as Record<string, string> | undefined;
        if (o && data?.['range'] !== undefined && reads++ < 2) return { ...o, data: { ...data, range: 'pending' } };
        return o;
      },
    });
    const settled = await runHonestyGates({ lab, port: lagging, setup, solution, settle: { maxGrades: 2, cleanTimeoutMs: 10_000, errorRetryMs: 0 } });
    assert.deepEqual(
      settled.gates.map((g) => [g.name, g.passed]),
      [
        ['nothing-earns-nothing', true],
        ['solution-earns-all', true],
        ['grading-is-stable', true],
      ],
    );
    reads = 0;
    const once = await runHonestyGates({ lab, port: lagging, setup, solution });
    assert.equal(once.gates.find((g) => g.name === 'solution-earns-all')?.passed, false, 'without settle one grade decides');
  });

  it('count a check that errored as passed: an unanswered check may hide credit', () => {
    const check = (id: string, status: 'pass' | 'fail' | 'error') => ({
      id,
      kind: 'field' as const,
      message: id,
      status,
      guard: false,
      required: false,
      weight: 1,
      points: 0,
      maxPoints: 5,
      durationMs: 0,
    });
    const report: GradeReport = {
      labId: 'x',
      score: 5,
      maxScore: 10,
      percent: 50,
      gradedAt: '',
      durationMs: 0,
      tasks: [{ id: 't', title: 't', points: 10, score: 5, checks: [check('a', 'pass'), check('b', 'error')] }],
    };
    assert.equal(ceilingPercent(report), 100);
  });

  it('on a shared cluster, fail when taking a mistake off does not bring back the state right after setup', async () => {
    const port = new ModelCluster({ workers: 0 });
    await port.apply(setup);
    const sticky: MistakeRun = {
      mistake: { name: 'sticky', title: 'a half answer', maxPercent: 50 },
      enter: async () => {
        await port.apply(facts({ domain: 'cluster.local' }));
        return { port };
      },
      // The model cluster cannot delete, so "taking it off" leaves the ConfigMap behind.
      leave: async () => {},
    };
    const result = await runHonestyGates({ lab, port, setup, solution, mistakes: [sticky] });
    const gate = result.gates.find((g) => g.name === 'mistake-is-capped');
    assert.equal(gate?.passed, false);
    assert.match(gate?.problems[0] ?? '', /^after taking mistake sticky off again, the lab does not grade as it did right after setup/);
    assert.match(gate?.problems[1] ?? '', /record\/domain is pass/);
  });

  it('grades a settled mistake once where the lab reads nothing a cluster programs later (confirm: false), and again while a check errored', async () => {
    const gradesOf = async (confirm: boolean, erroring: number) => {
      const model = new ModelCluster({ workers: 0 });
      await model.apply([...setup, ...facts({ domain: 'cluster.local' })]);
      // The API does not answer during the first `erroring` grades.
      let grade = 0;
      const port = Object.assign(Object.create(model) as ModelCluster, {
        get: async (...args: Parameters<ModelCluster['get']>) => {
          if (grade <= erroring) throw new Error('the API did not answer');
          return model.get(...args);
        },
      });
      const run: MistakeRun = { mistake: { name: 'half', title: 'half done', maxPercent: 50 }, enter: async () => ({ port }) };
      const empty = await gradeLab(lab, { port: new ModelCluster({ workers: 0 }) });
      const gradeOn = (p: ClusterPort) => (grade++, gradeLab(lab, { port: p }));
      const g = await mistakeGate(run, empty, gradeOn, { port }, { maxGrades: 4, cleanTimeoutMs: 0, confirm }, () => 0);
      return { grades: g.phases?.grades, passed: g.passed, percent: g.report.percent };
    };
    assert.deepEqual(await gradesOf(true, 0), { grades: 2, passed: true, percent: 50 }, 'confirmed by a second grade that agrees');
    assert.deepEqual(await gradesOf(false, 0), { grades: 1, passed: true, percent: 50 });
    // The first grade could not read the ConfigMap (both checks read it): asked again, and decided by the answer.
    assert.deepEqual(await gradesOf(false, 1), { grades: 2, passed: true, percent: 50 });
  });
});
