import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { requireRole } from '../../auth/plugin.ts';
import { notFound } from '../../errors.ts';
import { COMPETENCIES, COMPETENCY_CODES, DIFFICULTIES, DOMAIN_IDS, DOMAINS } from '../../labs/format.ts';
import type { Lab } from '../../labs/loader.ts';
import { checkIdOf } from '../../../../graders/src/checks/schema.ts';
import { textsWithParamNames } from '../../labs/params.ts';

const ProblemDto = z.object({ file: z.string(), line: z.number(), col: z.number(), message: z.string(), hint: z.string().optional(), severity: z.enum(['error', 'warning']) });

export const LabSummaryDto = z.object({
  id: z.string(),
  track: z.string(),
  title: z.string(),
  summary: z.string(),
  domain: z.enum(DOMAIN_IDS),
  difficulty: z.enum(DIFFICULTIES),
  minutes: z.number(),
  kubernetes: z.string(),
  cluster: z.object({ workers: z.number(), cni: z.string(), networkPolicy: z.boolean(), dedicated: z.boolean(), addons: z.array(z.string()) }),
  points: z.number(),
  taskCount: z.number(),
  tags: z.array(z.string()),
  /** CKA competency codes the lab trains (see the catalog's competencies). */
  competencies: z.array(z.enum(COMPETENCY_CODES)),
});

export const LabDetailDto = LabSummaryDto.extend({
  /** The title of the lab's track, for breadcrumbs. */
  trackTitle: z.string(),
  tasks: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      points: z.number(),
      checks: z.array(z.object({ id: z.string(), kind: z.string(), message: z.string(), weight: z.number(), guard: z.boolean(), required: z.boolean() })),
    }),
  ),
  images: z.array(z.string()),
  /** mdx-bundler output for getMDXComponent(). */
  code: z.string(),
  hash: z.string(),
});

const CatalogDto = z.object({
  domains: z.array(z.object({ id: z.enum(DOMAIN_IDS), name: z.string() })),
  /** The 27 competencies of the CKA curriculum, in curriculum order. */
  competencies: z.array(z.object({ code: z.enum(COMPETENCY_CODES), domain: z.enum(DOMAIN_IDS), title: z.string() })),
  tracks: z.array(z.object({ id: z.string(), title: z.string(), summary: z.string(), order: z.number() })),
  labs: z.array(LabSummaryDto),
  /** Only for instructors and admins: labs that failed to load, with their problems. */
  broken: z.array(z.object({ id: z.string(), track: z.string(), title: z.string().optional(), problems: z.array(ProblemDto) })),
});

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
      tracks: c.tracks.map((t) => ({ id: t.id, title: t.title, summary: t.summary, order: t.order })),
      labs: c.labs.map(summary),
      broken: staff ? c.broken.map((b) => ({ id: b.id, track: b.track, ...(b.title ? { title: b.title } : {}), problems: b.problems })) : [],
    };
  });

  app.get(
    '/api/labs/:id',
    { schema: { tags: ['labs'], summary: 'One lab with its tasks and compiled instructions', params: z.object({ id: z.string().max(100) }), response: { 200: LabDetailDto } } },
    async (req) => {
      const lab = app.labs.get(req.params.id);
      if (!lab) throw notFound('lab', req.params.id);
      // A parametrised lab's texts name its params (‹ns›); the page fills in the attempt's values.
      const texts = textsWithParamNames(lab);
      return {
        ...summary(lab),
        trackTitle: app.labs.current.tracks.find((t) => t.id === lab.track)?.title ?? lab.track,
        tasks: lab.meta.tasks.map((t, ti) => ({
          id: t.id,
          title: texts.titles[ti] ?? t.title,
          points: t.points,
          checks: t.checks.map((c, i) => ({ id: checkIdOf(t.id, i, c.id), kind: c.kind, message: texts.messages[ti]?.[i] ?? c.message, weight: c.weight, guard: c.guard, required: c.required })),
        })),
        images: lab.meta.images,
        code: lab.body.code,
        hash: lab.hash,
      };
    },
  );

  app.post(
    '/api/labs/reload',
    {
      schema: {
        tags: ['labs'],
        summary: 'Re-read the labs folder (instructors)',
        response: { 200: z.object({ loaded: z.number(), broken: z.number(), durationMs: z.number(), problems: z.array(ProblemDto) }) },
      },
    },
    async (req) => {
      requireRole(req, 'instructor', 'admin');
      const c = await app.labs.reload();
      return { loaded: c.labs.length, broken: c.broken.length, durationMs: Math.round(app.labs.loadMs), problems: [...c.problems, ...c.broken.flatMap((b) => b.problems)] };
    },
  );
}
