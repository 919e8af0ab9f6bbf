import { useEffect, useMemo, useState } from 'react';
import { api, type Catalog, type LabSummary, type MyAssignment, type Progress } from '../api/client.ts';
import { Link } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';
import { ErrorPanel, Loading } from '../components/Status.tsx';

const DOMAIN_WEIGHTS: Record<string, number> = {
  troubleshooting: 30,
  'cluster-architecture': 25,
  'services-networking': 20,
  'workloads-scheduling': 15,
  storage: 10,
};

const TIME_FILTERS = [
  { label: 'Any length', max: Infinity },
  { label: '≤ 15 min', max: 15 },
  { label: '≤ 30 min', max: 30 },
  { label: '≤ 60 min', max: 60 },
] as const;

const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;

/** The lab catalog: grouped by CKA domain and track, filterable by difficulty, time and text. */
export function CatalogPage({ withAssignments = false }: { withAssignments?: boolean }) {
  const catalog = useAsync((signal) => api.labs.list(signal), []);
  // Assignments come from study groups (multi-user mode, signed in); a failure only hides them.
  const assigned = useAsync(
    (signal) =>
      withAssignments
        ? api.assignments.mine(signal).then(
            (r) => r.assignments,
            () => [] as MyAssignment[],
          )
        : Promise.resolve([] as MyAssignment[]),
    [withAssignments],
  );
  if (catalog.status === 'loading') return <Loading what="labs" />;
  if (catalog.status === 'error') return <ErrorPanel error={catalog.error} onRetry={catalog.reload} />;
  return <CatalogView catalog={catalog.value} assignments={assigned.status === 'ok' ? assigned.value : []} />;
}

function CatalogView({ catalog, assignments }: { catalog: Catalog; assignments: MyAssignment[] }) {
  const [difficulty, setDifficulty] = useState<Set<string>>(new Set());
  const [maxMinutes, setMaxMinutes] = useState<number>(Infinity);
  const [query, setQuery] = useState('');
  const progress = useProgress();

  const visible = useMemo(() => {
    const q = query.trim().toLowerCase();
    return catalog.labs.filter(
      (l) =>
        (difficulty.size === 0 || difficulty.has(l.difficulty)) &&
        l.minutes <= maxMinutes &&
        (!q || `${l.title} ${l.summary} ${l.tags.join(' ')} ${l.competencies.join(' ')}`.toLowerCase().includes(q)),
    );
  }, [catalog.labs, difficulty, maxMinutes, query]);

  const trackTitle = (id: string) => catalog.tracks.find((t) => t.id === id)?.title ?? id;
  const trackOrigin = (id: string) => catalog.tracks.find((t) => t.id === id)?.origin;
  const groups = catalog.domains
    .map((d) => {
      const labs = visible.filter((l) => l.domain === d.id);
      const tracks = [...new Set(labs.map((l) => l.track))].sort(
        (a, b) => (catalog.tracks.find((t) => t.id === a)?.order ?? 100) - (catalog.tracks.find((t) => t.id === b)?.order ?? 100),
      );
      return { domain: d, tracks: tracks.map((t) => ({ id: t, labs: labs.filter((l) => l.track === t) })), count: labs.length };
    })
    .filter((g) => g.count > 0);

  return (
    <div className="page catalog">
      <section className="hero">
        <h1>Practise the CKA on real clusters</h1>
        <p>
          Every lab gives you a fresh kind cluster, a terminal beside the instructions, and a grader that checks what your cluster
          <em> does</em> — not how your YAML is spelt.
        </p>
      </section>

      <div className="filters" role="search">
        <input type="search" className="input" placeholder="Search labs…" aria-label="Search labs" value={query} onChange={(e) => setQuery(e.target.value)} />
        <div className="chip-group" role="group" aria-label="Difficulty">
          {DIFFICULTIES.map((d) => (
            <button
              key={d}
              type="button"
              className={`chip chip-${d}`}
              aria-pressed={difficulty.has(d)}
              onClick={() => {
                const next = new Set(difficulty);
                if (next.has(d)) next.delete(d);
                else next.add(d);
                setDifficulty(next);
              }}
            >
              {d}
            </button>
          ))}
        </div>
        <select className="input select" aria-label="Time" value={String(maxMinutes)} onChange={(e) => setMaxMinutes(Number(e.target.value))}>
          {TIME_FILTERS.map((t) => (
            <option key={t.label} value={String(t.max)}>
              {t.label}
            </option>
          ))}
        </select>
        <span className="muted filter-count" aria-live="polite">
          {visible.length} of {catalog.labs.length} labs
        </span>
      </div>

      {assignments.length > 0 && (
        <section className="domain assigned" aria-labelledby="assigned-title">
          <h2 id="assigned-title" className="domain-title">
            Assigned to you
          </h2>
          <ul className="lab-grid">
            {assignments.map((a) => {
              const note = (
                <p className={`assignment-note${a.overdue ? ' overdue' : ''}`}>
                  {a.groupName} · {a.state === 'done' ? 'done' : a.dueAt ? `due ${new Date(a.dueAt).toLocaleString()}` : 'no due date'}
                  {a.overdue ? ' · overdue' : ''}
                </p>
              );
              if (a.kind === 'exam') {
                return a.title ? (
                  <li key={a.id} data-assignment-state={a.state} data-assignment-kind="exam">
                    {note}
                    <Link to="/exams" className="lab-card" data-exam-id={a.itemId}>
                      <div className="lab-card-top">
                        <span className="tag">mock exam</span>
                        {a.bestScore !== null ? <span className="muted">best {a.bestScore}%</span> : null}
                      </div>
                      <h4 className="lab-card-title">{a.title}</h4>
                    </Link>
                  </li>
                ) : null;
              }
              const lab = catalog.labs.find((l) => l.id === a.itemId);
              return lab ? (
                <li key={a.id} data-assignment-state={a.state}>
                  {note}
                  <LabCard lab={lab} progress={progress.get(lab.id)} competencies={catalog.competencies} />
                </li>
              ) : null;
            })}
          </ul>
        </section>
      )}

      {groups.length === 0 && <p className="empty">No lab matches these filters.</p>}
      {groups.map((g) => (
        <section key={g.domain.id} className="domain" aria-labelledby={`domain-${g.domain.id}`}>
          <h2 id={`domain-${g.domain.id}`} className="domain-title">
            {g.domain.name}
            <span className="domain-weight" title="Share of the CKA exam">
              {DOMAIN_WEIGHTS[g.domain.id]}% of the exam
            </span>
          </h2>
          {g.tracks.map((t) => (
            <div key={t.id} className="track">
              <h3 className="track-title">{trackTitle(t.id)}</h3>
              {trackOrigin(t.id) ? (
                <p className="muted track-origin" data-origin="killercoda">
                  Killercoda scenarios, run unchanged from <code>{trackOrigin(t.id)!.source}</code>
                </p>
              ) : null}
              <ul className="lab-grid">
                {t.labs.map((lab) => (
                  <li key={lab.id}>
                    <LabCard lab={lab} progress={progress.get(lab.id)} competencies={catalog.competencies} />
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </section>
      ))}

      {catalog.broken.length > 0 && (
        <section className="broken" aria-labelledby="broken-title">
          <h2 id="broken-title">Broken labs (visible to instructors)</h2>
          <p className="muted">
            These labs failed to load and are hidden from learners. Run <code>npm run labs:check</code> for the same report.
          </p>
          {catalog.broken.map((b) => (
            <details key={b.id} className="broken-lab">
              <summary>
                <strong>{b.title ?? b.id}</strong>{' '}
                <span className="muted">
                  ({b.track}/{b.id}) — {plural(b.problems.filter((p) => p.severity === 'error').length, 'error')}
                </span>
              </summary>
              <ul>
                {b.problems.map((p, i) => (
                  <li key={i} className={`problem problem-${p.severity}`}>
                    <code>
                      {p.file}:{p.line}:{p.col}
                    </code>{' '}
                    {p.message}
                    {p.hint ? <div className="muted">hint: {p.hint}</div> : null}
                  </li>
                ))}
              </ul>
            </details>
          ))}
        </section>
      )}
    </div>
  );
}

type LabProgress = Progress['labs'][number];

/** The learner's best result per lab (from stored grades); empty until it arrives or when it cannot. */
function useProgress(): Map<string, LabProgress> {
  const [map, setMap] = useState<Map<string, LabProgress>>(new Map());
  useEffect(() => {
    const ctl = new AbortController();
    // The session first: on a first visit it is what sets the cookie progress is read with.
    api.session
      .get(ctl.signal)
      .then((s) => (s.learner ? api.progress.all(ctl.signal) : { labs: [] }))
      .then(
        (p) => setMap(new Map(p.labs.map((l) => [l.labId, l]))),
        () => {
          // No progress (signed out, older server): the catalog works without marks.
        },
      );
    return () => ctl.abort();
  }, []);
  return map;
}

const PROGRESS_TEXT = { done: 'Done', partial: 'Partly done', tried: 'Tried' } as const;

function LabCard({ lab, progress, competencies }: { lab: LabSummary; progress: LabProgress | undefined; competencies: Catalog['competencies'] }) {
  const score = progress ? `${Number.isInteger(progress.score) ? progress.score : progress.score.toFixed(1)}/${progress.maxScore}` : '';
  return (
    <Link
      to={`/labs/${lab.id}`}
      className={`lab-card${progress ? ` lab-card-${progress.status}` : ''}`}
      data-lab-id={lab.id}
      data-progress={progress?.status ?? 'none'}
    >
      <div className="lab-card-top">
        <span className={`badge badge-${lab.difficulty}`}>{lab.difficulty}</span>
        <span className="muted">{lab.minutes} min</span>
        {lab.walkthrough ? (
          <span className="tag tag-walkthrough" title="A Killercoda scenario without verify scripts: you read and do each step, nothing is checked or scored">
            walkthrough — not graded
          </span>
        ) : (
          <span className="muted">· {lab.points} pts</span>
        )}
        {progress ? (
          <span className={`lab-progress lab-progress-${progress.status}`} title={`Your best result: ${score} points`}>
            {progress.status === 'done' ? '✓ ' : progress.status === 'partial' ? '◐ ' : ''}
            {PROGRESS_TEXT[progress.status]} · {score}
          </span>
        ) : null}
      </div>
      <h4 className="lab-card-title">{lab.title}</h4>
      <p className="lab-card-summary">{lab.summary}</p>
      <div className="lab-card-tags">
        {lab.competencies.map((code) => (
          <span key={code} className="tag tag-competency" title={competencies.find((c) => c.code === code)?.title ?? code}>
            {code}
          </span>
        ))}
        {/* The walkthrough tag is said above, as "not graded". */}
        {lab.tags
          .filter((t) => !(lab.walkthrough && t === 'walkthrough'))
          .map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        <span className="tag tag-quiet">
          {(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers} node{(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers > 1 ? 's' : ''}
        </span>
        {lab.origin ? (
          <span className="tag tag-origin" title={`Killercoda scenario from ${lab.origin.source}`}>
            Killercoda scenario
          </span>
        ) : null}
      </div>
    </Link>
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
