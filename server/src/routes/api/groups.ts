import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  ActivityDto,
  AssignBody,
  AssignmentDto,
  AssignmentParams,
  CreateGroupBody,
  errors,
  GroupDetailDto,
  GroupDto,
  GroupListDto,
  GroupParams,
  GroupResultsCsv,
  JoinGroupBody,
  LearnerParams,
  LearnerRoleDto,
  MemberParams,
  MyAssignmentListDto,
  NoContent,
  SetRoleBody,
  UpdateGroupBody,
} from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import type { Learner } from '../../auth/learners.ts';
import { requireLearner, requireRole } from '../../auth/plugin.ts';
import { AppError, notFound } from '../../errors.ts';
import { GroupReports, isExpired, type Assignment, type StudyGroup } from '../../groups/group-repository.ts';
import { DOMAINS } from '../../labs/format.ts';
import { GradeRepository } from '../../grading/grade-repository.ts';

const ACTIVE_STATUSES = new Set(['queued', 'provisioning', 'setting-up', 'ready', 'grading']);

// A spreadsheet runs a cell that starts with = + - @ (or a tab/CR) as a formula: display names are
// chosen by learners, so such cells are prefixed with ' before the usual CSV quoting.
function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Study groups: create and manage (instructors, admins), join by invite, assignments, live activity and results. */
export default async function groupRoutes(app: App) {
  const groups = app.groups;
  const reports = new GroupReports(app.db);
  const grades = new GradeRepository(app.db);
  const base =
    app.config.publicUrl?.replace(/\/$/, '') ?? `http://${app.config.host.includes(':') ? `[${app.config.host}]` : app.config.host}:${app.config.port}`;
  const labTitle = (id: string) => app.labs.current.labs.find((l) => l.id === id)?.meta.title ?? null;
  const titleOf = (a: Assignment) => (a.kind === 'exam' ? (app.examCatalog.get(a.itemId)?.title ?? null) : labTitle(a.itemId));

  /** The group if the caller runs it (admin, or one of its instructors); others get 404, so groups cannot be probed. */
  function managed(req: FastifyRequest, groupId: string): { group: StudyGroup; learner: Learner } {
    const learner = requireLearner(req);
    const group = groups.get(groupId);
    if (!group || (learner.role !== 'admin' && groups.roleIn(groupId, learner.id) !== 'instructor')) throw notFound('group', groupId);
    return { group, learner };
  }

  const dto = (g: StudyGroup, yourRole: 'admin' | 'instructor' | 'learner'): z.infer<typeof GroupDto> => {
    const manages = yourRole !== 'learner';
    return {
      id: g.id,
      name: g.name,
      maxClusters: g.maxClusters,
      expiresAt: g.expiresAt,
      expired: isExpired(g),
      createdAt: g.createdAt,
      yourRole,
      inviteCode: manages ? g.inviteCode : null,
      inviteUrl: manages ? `${base}/?invite=${encodeURIComponent(g.inviteCode)}` : null,
      memberCount: groups.members(g.id).length,
      activeAttempts: groups.activeAttempts(g.id),
    };
  };
  const assignmentDto = (a: Assignment) => ({
    id: a.id,
    groupId: a.groupId,
    kind: a.kind,
    itemId: a.itemId,
    title: titleOf(a),
    dueAt: a.dueAt,
    createdAt: a.createdAt,
  });
  const detail = (g: StudyGroup, yourRole: 'admin' | 'instructor') => ({
    ...dto(g, yourRole),
    members: groups.members(g.id).map((m) => ({ id: m.id, username: m.username, displayName: m.displayName, groupRole: m.groupRole, joinedAt: m.joinedAt })),
    assignments: groups.assignments(g.id).map(assignmentDto),
  });
  const relation = (g: StudyGroup, learner: Learner): 'admin' | 'instructor' =>
    learner.role === 'admin' && groups.roleIn(g.id, learner.id) !== 'instructor' ? 'admin' : 'instructor';

  app.post(
    '/api/groups',
    {
      schema: {
        tags: ['groups'],
        summary: 'Create a study group (instructors, admins); you become its instructor',
        body: CreateGroupBody,
        response: { 201: GroupDetailDto, ...errors(401, 403) },
      },
    },
    async (req, reply) => {
      const learner = requireRole(req, 'instructor', 'admin');
      const g = groups.create(req.body, learner);
      return reply.code(201).send(detail(g, 'instructor'));
    },
  );

  app.get(
    '/api/groups',
    { schema: { tags: ['groups'], summary: 'Groups you run or belong to (admins: every group)', response: { 200: GroupListDto, ...errors(401) } } },
    async (req) => {
      const learner = requireLearner(req);
      if (learner.role === 'admin') return { groups: groups.all().map((g) => dto(g, relation(g, learner))) };
      return { groups: groups.forLearner(learner.id).map((g) => dto(g, g.groupRole)) };
    },
  );

  app.get(
    '/api/groups/:groupId',
    {
      schema: {
        tags: ['groups'],
        summary: 'A group you run, with members and assignments',
        params: GroupParams,
        response: { 200: GroupDetailDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      const { group, learner } = managed(req, req.params.groupId);
      return detail(group, relation(group, learner));
    },
  );

  app.patch(
    '/api/groups/:groupId',
    {
      schema: {
        tags: ['groups'],
        summary: 'Rename a group, change its cluster share or end date',
        params: GroupParams,
        body: UpdateGroupBody,
        response: { 200: GroupDetailDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      const { group, learner } = managed(req, req.params.groupId);
      groups.update(group.id, req.body);
      return detail(groups.get(group.id)!, relation(group, learner));
    },
  );

  app.delete(
    '/api/groups/:groupId',
    {
      schema: {
        tags: ['groups'],
        summary: 'Delete a group (accounts and results stay)',
        params: GroupParams,
        response: { 204: NoContent, ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const { group } = managed(req, req.params.groupId);
      groups.delete(group.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/groups/:groupId/invite',
    {
      schema: {
        tags: ['groups'],
        summary: 'Replace the invite code (the old link stops working)',
        params: GroupParams,
        response: { 200: GroupDetailDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      const { group, learner } = managed(req, req.params.groupId);
      groups.rotateInvite(group.id);
      return detail(groups.get(group.id)!, relation(group, learner));
    },
  );

  app.post(
    '/api/groups/join',
    {
      schema: {
        tags: ['groups'],
        summary: 'Join a group with its invite code (logged in)',
        body: JoinGroupBody,
        response: { 200: GroupDto, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const learner = requireLearner(req);
      const g = groups.byInviteCode(req.body.inviteCode);
      if (!g) throw new AppError(404, 'invite_not_found', 'no group has this invite code; ask your instructor for the current link');
      if (isExpired(g)) throw new AppError(403, 'group_expired', `the group "${g.name}" has ended`);
      groups.addMember(g.id, learner.id, 'learner');
      return dto(g, groups.roleIn(g.id, learner.id) ?? 'learner');
    },
  );

  app.delete(
    '/api/groups/:groupId/members/:learnerId',
    { schema: { tags: ['groups'], summary: 'Remove a member from a group you run', params: MemberParams, response: { 204: NoContent, ...errors(401, 404) } } },
    async (req, reply) => {
      const { group } = managed(req, req.params.groupId);
      if (!groups.removeMember(group.id, req.params.learnerId)) throw notFound('member', req.params.learnerId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/groups/:groupId/assignments',
    {
      schema: {
        tags: ['groups'],
        summary: 'Assign a lab (labId) or a mock exam (examId) to a group, with an optional due date (assigning again changes the date)',
        params: GroupParams,
        body: AssignBody,
        response: { 201: AssignmentDto, ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const { group, learner } = managed(req, req.params.groupId);
      const { labId, examId, dueAt } = req.body;
      if (examId !== undefined) {
        if (!app.examCatalog.get(examId)) throw notFound('exam', examId);
        return reply.code(201).send(assignmentDto(groups.assign(group.id, 'exam', examId, dueAt, learner.id)));
      }
      if (!labId || !app.labs.current.labs.some((l) => l.id === labId)) throw notFound('lab', labId ?? '');
      return reply.code(201).send(assignmentDto(groups.assign(group.id, 'lab', labId, dueAt, learner.id)));
    },
  );

  app.delete(
    '/api/groups/:groupId/assignments/:assignmentId',
    { schema: { tags: ['groups'], summary: 'Withdraw an assignment', params: AssignmentParams, response: { 204: NoContent, ...errors(401, 404) } } },
    async (req, reply) => {
      const { group } = managed(req, req.params.groupId);
      if (!groups.unassign(group.id, req.params.assignmentId)) throw notFound('assignment', req.params.assignmentId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/assignments',
    {
      schema: {
        tags: ['groups'],
        summary: 'Labs and mock exams assigned to you, soonest due first, with your best score',
        response: { 200: MyAssignmentListDto, ...errors(401) },
      },
    },
    async (req) => {
      const learner = requireLearner(req);
      const now = new Date().toISOString();
      const best = new Map(grades.bestPerLab(learner.id).map((b) => [b.labId, b]));
      const started = new Set(app.attempts.listForLearner(learner.id).map((a) => a.labId));
      const examAttempts = app.exams.listForLearner(learner.id);
      const assignments = groups
        .assignmentsFor(learner.id)
        .filter((a) => a.groupExpiresAt === null || a.groupExpiresAt > now)
        .map((a) => {
          const common = {
            id: a.id,
            groupId: a.groupId,
            groupName: a.groupName,
            kind: a.kind,
            itemId: a.itemId,
            title: titleOf(a),
            dueAt: a.dueAt,
            createdAt: a.createdAt,
          };
          if (a.kind === 'exam') {
            // An exam counts by its best submitted result, in percent; done once it passed.
            const tries = examAttempts.filter((e) => e.examId === a.itemId);
            const results = tries.flatMap((e) => (e.result ? [e.result] : []));
            const top = results.reduce<(typeof results)[number] | undefined>((m, r) => (m === undefined || r.percent > m.percent ? r : m), undefined);
            const done = results.some((r) => r.passed);
            return {
              ...common,
              bestScore: top?.percent ?? null,
              maxScore: top ? 100 : null,
              state: done ? ('done' as const) : tries.length ? ('started' as const) : ('todo' as const),
              overdue: !done && a.dueAt !== null && a.dueAt < now,
            };
          }
          const b = best.get(a.itemId);
          const done = b !== undefined && b.maxScore > 0 && b.score >= b.maxScore;
          return {
            ...common,
            bestScore: b?.score ?? null,
            maxScore: b?.maxScore ?? null,
            state: done ? ('done' as const) : started.has(a.itemId) ? ('started' as const) : ('todo' as const),
            overdue: !done && a.dueAt !== null && a.dueAt < now,
          };
        });
      return { assignments };
    },
  );

  // The live view: the page polls this (every few seconds); it is one indexed query per member.
  app.get(
    '/api/groups/:groupId/activity',
    {
      schema: {
        tags: ['groups'],
        summary: 'Who in the group is working on what, right now',
        params: GroupParams,
        response: { 200: ActivityDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      const { group } = managed(req, req.params.groupId);
      const now = Date.now();
      const members = new Map(groups.members(group.id).map((m) => [m.id, m]));
      const rows = reports.activity(group.id);
      return {
        generatedAt: new Date(now).toISOString(),
        members: rows.flatMap((r) => {
          const m = members.get(r.learnerId);
          if (!m) return [];
          const attempt =
            r.attemptId && r.labId && r.status && r.createdAt
              ? {
                  id: r.attemptId,
                  labId: r.labId,
                  labTitle: labTitle(r.labId),
                  status: r.status,
                  active: ACTIVE_STATUSES.has(r.status),
                  startedAt: r.createdAt,
                  minutesInLab: r.readyAt ? Math.max(0, Math.round(((r.endedAt ? Date.parse(r.endedAt) : now) - Date.parse(r.readyAt)) / 60_000)) : null,
                  lastActivityAt: r.lastActivityAt,
                  lastScore: r.lastScore,
                  maxScore: r.maxScore,
                  lastCheckAt: r.lastCheckAt,
                }
              : null;
          return [{ learner: { id: m.id, username: m.username, displayName: m.displayName }, attempt }];
        }),
      };
    },
  );

  app.get(
    '/api/groups/:groupId/results.csv',
    // The body is CSV text, not JSON (a 404 is the usual error object).
    {
      schema: {
        tags: ['groups'],
        summary: 'Results per learner and lab or mock exam (assigned ones included even when not tried), as CSV',
        params: GroupParams,
        response: { 200: GroupResultsCsv, ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const { group } = managed(req, req.params.groupId);
      const learners = groups.members(group.id).filter((m) => m.groupRole === 'learner');
      const assignedLabs = new Map(
        groups
          .assignments(group.id)
          .filter((a) => a.kind === 'lab')
          .map((a) => [a.itemId, a]),
      );
      const assignedExams = new Map(
        groups
          .assignments(group.id)
          .filter((a) => a.kind === 'exam')
          .map((a) => [a.itemId, a]),
      );
      const labResults = new Map(reports.results(group.id).map((r) => [`${r.learnerId}\0${r.labId}`, r]));
      const examResults = new Map(reports.examResults(group.id).map((r) => [`${r.learnerId}\0${r.examId}`, r]));
      // One row per learner and item: every lab and mock exam assigned to the group (tried or not) and
      // every other one the learner tried. A lab has no pass mark (passed is empty); an exam's
      // percent is its best submitted attempt's, and passed says whether any attempt passed.
      const header = [
        'username',
        'display_name',
        'kind',
        'item_id',
        'title',
        'domain',
        'assigned',
        'due_at',
        'attempts',
        'best_score',
        'max_score',
        'percent',
        'passed',
        'last_attempt_at',
      ];
      const lines = [header.join(',')];
      const pct = (score: number | null | undefined, max: number | null | undefined) =>
        score !== null && score !== undefined && max ? Math.round((100 * score) / max) : null;
      for (const m of learners) {
        const labIds = new Set([...assignedLabs.keys(), ...[...labResults.values()].filter((r) => r.learnerId === m.id).map((r) => r.labId)]);
        for (const labId of [...labIds].sort()) {
          const r = labResults.get(`${m.id}\0${labId}`);
          const lab = app.labs.current.labs.find((l) => l.id === labId);
          const row = [
            m.username,
            m.displayName,
            'lab',
            labId,
            lab?.meta.title ?? null,
            lab ? DOMAINS[lab.meta.domain] : null,
            assignedLabs.has(labId) ? 'yes' : 'no',
            assignedLabs.get(labId)?.dueAt ?? null,
            r?.attempts ?? 0,
            r?.bestScore ?? null,
            r?.maxScore ?? null,
            pct(r?.bestScore, r?.maxScore),
            null,
            r?.lastAttemptAt ?? null,
          ];
          lines.push(row.map(csvCell).join(','));
        }
        const examIds = new Set([...assignedExams.keys(), ...[...examResults.values()].filter((r) => r.learnerId === m.id).map((r) => r.examId)]);
        for (const examId of [...examIds].sort()) {
          const r = examResults.get(`${m.id}\0${examId}`);
          const passed = r?.passed === undefined || r.passed === null ? null : r.passed ? 'yes' : 'no';
          const row = [
            m.username,
            m.displayName,
            'exam',
            examId,
            app.examCatalog.get(examId)?.title ?? null,
            null,
            assignedExams.has(examId) ? 'yes' : 'no',
            assignedExams.get(examId)?.dueAt ?? null,
            r?.attempts ?? 0,
            r?.bestScore ?? null,
            r?.maxScore ?? null,
            r?.bestPercent === null || r?.bestPercent === undefined ? null : Math.round(r.bestPercent),
            passed,
            r?.lastAttemptAt ?? null,
          ];
          lines.push(row.map(csvCell).join(','));
        }
      }
      const file = `${group.name.replace(/[^a-zA-Z0-9._-]+/g, '-').slice(0, 40) || 'group'}-results.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${file}"`)
        .send(`${lines.join('\r\n')}\r\n`);
    },
  );

  app.patch(
    '/api/learners/:learnerId',
    {
      schema: {
        tags: ['groups'],
        summary: "Change an account's role (admins): make someone an instructor",
        params: LearnerParams,
        body: SetRoleBody,
        response: { 200: LearnerRoleDto, ...errors(401, 403, 404, 409) },
      },
    },
    async (req) => {
      const admin = requireRole(req, 'admin');
      if (req.params.learnerId === admin.id && req.body.role !== 'admin') throw new AppError(409, 'last_admin', 'you cannot take away your own admin role');
      const updated = app.learners.setRole(req.params.learnerId, req.body.role);
      if (!updated) throw notFound('learner', req.params.learnerId);
      return updated;
    },
  );
}
