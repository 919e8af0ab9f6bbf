import type { z } from 'zod';
import { CatalogDto, errors, LabDetailDto, LabParams, LabReloadDto, type LabSummaryDto } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireRole } from '../../auth/plugin.ts';
import { notFound } from '../../errors.ts';
import { COMPETENCIES, COMPETENCY_CODES, DOMAIN_IDS, DOMAINS } from '../../labs/format.ts';
import type { Lab } from '../../labs/loader.ts';
import { checkIdOf } from '../../../../graders/src/checks/schema.ts';
import { textsWithParamNames } from '../../labs/params.ts';

function summary(lab: Lab): z.infer<typeof LabSummaryDto> {
  const m = lab.meta;
  return {
    id: lab.id,
    track: lab.track,
    title: m.title,
    summary: m.summary,
    domain: m.domain,
    difficulty: m.difficulty,
    minutes: m.minutes,
    kubernetes: m.kubernetes,
    cluster: m.cluster,
    points: m.tasks.reduce((s, t) => s + t.points, 0),
    taskCount: m.tasks.length,
    tags: m.tags,
    competencies: m.competencies,
    ...(lab.origin ? { origin: lab.origin } : {}),
    ...(lab.walkthrough ? { walkthrough: lab.walkthrough } : {}),
  };
}

/** The lab catalog: list, one lab with its compiled instructions, reload for instructors. */
export default async function labRoutes(app: App) {
  app.get('/api/labs', { schema: { tags: ['labs'], summary: 'All labs, grouped data for the catalog', response: { 200: CatalogDto } } }, async (req) => {
    const c = app.labs.current;
    // In single-user mode whoever reaches the (loopback-only) server is the local admin, even on a
    // first request that races the session cookie.
    const staff = app.config.auth.mode === 'single' || req.learner?.role === 'admin' || req.learner?.role === 'instructor';
    return {
      domains: DOMAIN_IDS.map((id) => ({ id, name: DOMAINS[id] })),
      competencies: COMPETENCY_CODES.map((code) => ({ code, domain: COMPETENCIES[code].domain, title: COMPETENCIES[code].title })),
      tracks: c.tracks.map((t) => ({ id: t.id, title: t.title, summary: t.summary, order: t.order, ...(t.origin ? { origin: t.origin } : {}) })),
      labs: c.labs.map(summary),
      broken: staff ? c.broken.map((b) => ({ id: b.id, track: b.track, ...(b.title ? { title: b.title } : {}), problems: b.problems })) : [],
    };
  });

  app.get(
    '/api/labs/:labId',
    {
      schema: {
        tags: ['labs'],
        summary: 'One lab with its tasks and compiled instructions',
        params: LabParams,
        response: { 200: LabDetailDto, ...errors(404) },
      },
    },
    async (req) => {
      const lab = app.labs.get(req.params.labId);
      if (!lab) throw notFound('lab', req.params.labId);
      // A parametrised lab's texts name its params (‹ns›); the page fills in the attempt's values.
      const texts = textsWithParamNames(lab);
      return {
        ...summary(lab),
        trackTitle: app.labs.current.tracks.find((t) => t.id === lab.track)?.title ?? lab.track,
        tasks: lab.meta.tasks.map((t, ti) => ({
          id: t.id,
          title: texts.titles[ti] ?? t.title,
          points: t.points,
          checks: t.checks.map((c, i) => ({
            id: checkIdOf(t.id, i, c.id),
            kind: c.kind,
            message: texts.messages[ti]?.[i] ?? c.message,
            weight: c.weight,
            guard: c.guard,
            required: c.required,
          })),
        })),
        images: lab.meta.images,
        code: lab.body.code,
        hash: lab.hash,
        ...(lab.scenarioSetup?.steps.length ? { stepSetups: lab.scenarioSetup.steps.map((s) => ({ step: s.step, after: s.after })) } : {}),
      };
    },
  );

  app.post(
    '/api/labs/reload',
    {
      schema: {
        tags: ['labs'],
        summary: 'Re-read the labs folder (instructors)',
        response: { 200: LabReloadDto, ...errors(401) },
      },
    },
    async (req) => {
      requireRole(req, 'instructor', 'admin');
      const c = await app.labs.reload();
      return {
        loaded: c.labs.length,
        broken: c.broken.length,
        durationMs: Math.round(app.labs.loadMs),
        problems: [...c.problems, ...c.broken.flatMap((b) => b.problems)],
      };
    },
  );
}
