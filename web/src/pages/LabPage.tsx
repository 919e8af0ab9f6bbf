import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, type Attempt, type Grade, type GradeReport as Report, type LabDetail, type LabResult, type NodeName, type Walkthrough } from '../api/client.ts';
import { GradePanel } from '../components/grading/GradePanel.tsx';
import { WalkthroughPanel } from '../components/grading/WalkthroughPanel.tsx';
import { GradeReport } from '../components/grading/GradeReport.tsx';
import { LabContext, type LabPageContext, type TaskStatus } from '../components/mdx/LabContext.ts';
import { LabBody } from '../components/lazy.tsx';
import { AttemptPanel, duration, workedMs } from '../components/attempt/AttemptPanel.tsx';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { TerminalPane } from '../components/terminal/TerminalPane.tsx';
import { Link } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';

/** One lab: instructions and task list on the left, the terminal on the right. */
export function LabPage({ id }: { id: string }) {
  const lab = useAsync((signal) => api.labs.get(id, signal), [id]);
  useEffect(() => {
    if (lab.status === 'ok') document.title = `${lab.value.title} — kubedrill`;
    return () => {
      document.title = 'kubedrill — CKA practice on real clusters';
    };
  }, [lab]);
  if (lab.status === 'loading') return <Loading what="lab" />;
  if (lab.status === 'error') {
    return (
      <div className="page">
        <ErrorPanel error={lab.error} onRetry={lab.reload} title="This lab could not be opened" />
        <p>
          <Link to="/">← Back to all labs</Link>
        </p>
      </div>
    );
  }
  return <LabView lab={lab.value} />;
}

function LabView({ lab }: { lab: LabDetail }) {
  const [readyAttempt, setReadyAttempt] = useState<string | null>(null);
  const [taskStatus, setTaskStatus] = useState<LabPageContext['taskStatus']>({});
  const [nodes, setNodes] = useState<NodeName[]>([]);
  const [params, setParams] = useState<Record<string, string>>({});
  const [walk, setWalk] = useState<Walkthrough | null>(null);
  const { result, reload: reloadResult } = useLastResult(lab.id);
  const onGraded = useCallback((grade: Grade) => setTaskStatus(statusFromReport(grade.report)), []);
  const onReady = useCallback((id: string | null) => setReadyAttempt(id), []);
  const onEnded = useCallback((_a: Attempt) => reloadResult(), [reloadResult]);
  // Without a running attempt the task list shows the last result (it stays after Finish).
  useEffect(() => {
    if (!readyAttempt) setTaskStatus(result ? statusFromReport(result.grade.report) : {});
  }, [readyAttempt, result]);
  useEffect(() => {
    if (!readyAttempt) setWalk(null);
  }, [readyAttempt]);
  // The node names the lab text's <Node> placeholders show next to the exam-style names.
  useEffect(() => {
    if (!readyAttempt) return setNodes([]);
    const ctl = new AbortController();
    api.terminals.nodes(readyAttempt, ctl.signal).then(
      (r) => setNodes(r.nodes),
      () => setNodes([]),
    );
    return () => ctl.abort();
  }, [readyAttempt]);
  // The values this attempt drew for the lab's params (<Param> in the text); kept on the server, so a reload shows the same.
  useEffect(() => {
    if (!readyAttempt) return setParams({});
    const ctl = new AbortController();
    api.attempts.get(readyAttempt, ctl.signal).then(
      (a) => setParams(a.params),
      () => setParams({}),
    );
    return () => ctl.abort();
  }, [readyAttempt]);
  const walkthroughDone = walk?.done ?? false;
  const ctx: LabPageContext = useMemo(() => ({ lab, taskStatus, nodes, params, walkthroughDone }), [lab, taskStatus, nodes, params, walkthroughDone]);
  const [split, setSplit] = useSplit();
  const total = lab.tasks.reduce((s, t) => s + t.points, 0);

  return (
    <LabContext.Provider value={ctx}>
      <div className="lab-layout" style={{ gridTemplateColumns: `minmax(320px, ${split}fr) 8px minmax(320px, ${100 - split}fr)` }}>
        <article className="lab-instructions" aria-label="Instructions">
          <nav className="crumbs" aria-label="Breadcrumb">
            <Link to="/">Labs</Link> <span aria-hidden>/</span> <span>{lab.trackTitle}</span>
          </nav>
          <header className="lab-header">
            <h1>{lab.title}</h1>
            <p className="lab-summary">{lab.summary}</p>
            <div className="lab-meta">
              <span className={`badge badge-${lab.difficulty}`}>{lab.difficulty}</span>
              <span>{lab.minutes} min</span>
              {lab.walkthrough ? (
                <span
                  className="tag tag-walkthrough"
                  title="A Killercoda scenario without verify scripts: you read and do each step, nothing is checked or scored"
                >
                  walkthrough — not graded
                </span>
              ) : (
                <span>{total} pts</span>
              )}
              <span>Kubernetes {lab.kubernetes}</span>
              <span>
                {(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers} node{(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers > 1 ? 's' : ''}
              </span>
              {lab.cluster.networkPolicy ? <span title="The cluster enforces NetworkPolicies (self-tested before you start)">NetworkPolicy</span> : null}
            </div>
          </header>

          {lab.walkthrough ? (
            <WalkthroughSteps steps={lab.walkthrough.steps} at={walk?.step ?? null} />
          ) : (
            <section className="task-list" aria-label="Tasks">
              <h2 className="visually-hidden">Tasks</h2>
              <ol>
                {lab.tasks.map((t) => {
                  const st = taskStatus[t.id];
                  const status = st?.status ?? 'todo';
                  return (
                    <li key={t.id} className="task-list-item">
                      <a href={`#task-${t.id}`}>{t.title}</a>
                      <span className="task-list-points">{st?.score !== undefined ? `${st.score}/${t.points}` : t.points} pts</span>
                      <span className={`task-list-status status-${status}`} title={STATUS_TITLE[status]}>
                        {STATUS_MARK[status]}
                      </span>
                    </li>
                  );
                })}
              </ol>
            </section>
          )}
          {readyAttempt && lab.walkthrough ? (
            <WalkthroughPanel attemptId={readyAttempt} lab={lab} onChange={setWalk} />
          ) : readyAttempt ? (
            <GradePanel attemptId={readyAttempt} onGraded={onGraded} preparesSteps={Boolean(lab.stepSetups?.length)} />
          ) : result ? (
            <LastResult result={result} />
          ) : null}

          <div className="prose">
            <LabBody lab={lab} />
          </div>
        </article>
        <div className="split-handle" role="separator" aria-orientation="vertical" aria-label="Resize panes" tabIndex={0} {...setSplit} />
        <aside className="lab-side" aria-label="Terminal">
          <AttemptPanel lab={lab} onReady={onReady} onEnded={onEnded}>
            {(attemptId) => <TerminalPane attemptId={attemptId} />}
          </AttemptPanel>
        </aside>
      </div>
    </LabContext.Provider>
  );
}

/** A walkthrough's steps in place of the task list: done, current, still to come (no points, no grades). */
function WalkthroughSteps({ steps, at }: { steps: NonNullable<LabDetail['walkthrough']>['steps']; at: number | null }) {
  return (
    <section className="task-list walkthrough-steps" aria-label="Steps">
      <h2 className="visually-hidden">Steps</h2>
      <ol>
        {steps.map((s) => {
          const state = at === null ? 'todo' : s.step < at ? 'passed' : s.step === at ? 'current' : 'todo';
          return (
            <li
              key={s.step}
              className={`task-list-item${state === 'current' ? ' walkthrough-current' : ''}`}
              aria-current={state === 'current' ? 'step' : undefined}
            >
              <span className="walkthrough-step-title">{s.title}</span>
              <span
                className={`task-list-status status-${state}`}
                title={state === 'passed' ? 'Moved past' : state === 'current' ? 'You are here' : 'Still to come'}
              >
                {state === 'passed' ? '✓' : state === 'current' ? '→' : '○'}
              </span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

const STATUS_MARK: Record<TaskStatus, string> = { todo: '○', passed: '✓', partial: '◐', failed: '✗' };
const STATUS_TITLE: Record<TaskStatus, string> = { todo: 'Not graded yet', passed: 'Passed', partial: 'Partly done', failed: 'Not passed yet' };

/** The learner's newest grade of the lab with its attempt; reload() after an attempt ends. */
function useLastResult(labId: string): { result: LabResult | null; reload: () => void } {
  const [result, setResult] = useState<LabResult | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    api.session
      .get(ctl.signal)
      .then((s) => (s.learner ? api.progress.lab(labId, ctl.signal) : { result: null }))
      .then(
        (r) => setResult(r.result),
        () => {
          // No stored result to show: the page works without it.
        },
      );
    return () => ctl.abort();
  }, [labId, version]);
  return { result, reload: useCallback(() => setVersion((v) => v + 1), []) };
}

/** The last result of this lab, kept after Finish: score, when, time worked, and the full report. */
function LastResult({ result }: { result: LabResult }) {
  const { grade, attempt } = result;
  const worked = attempt && attempt.endedAt ? workedMs(attempt) : null;
  return (
    <section className="last-result" aria-label="Your last result">
      <h2 className="last-result-title">
        Your last result
        <span className="muted">
          {' '}
          · graded {new Date(grade.createdAt).toLocaleString()}
          {worked !== null ? ` · worked ${duration(worked)}` : attempt && !attempt.endedAt ? ' · attempt still running' : ''}
        </span>
      </h2>
      <GradeReport report={grade.report} />
    </section>
  );
}

/** Task statuses for the task list and the <Task> sections from the latest grade. */
function statusFromReport(report: Report): LabPageContext['taskStatus'] {
  const out: LabPageContext['taskStatus'] = {};
  for (const t of report.tasks) {
    out[t.id] = { status: t.score >= t.points ? 'passed' : t.score > 0 ? 'partial' : 'failed', score: t.score };
  }
  return out;
}

/**
 * Instructions' share of the width by default: at 1440 px the terminal then gets ≥ 120 columns, so
 * `kubectl get pods -A -o wide` does not wrap (at an even split it had ~82).
 */
const DEFAULT_SPLIT = 31;

/** Split position in percent, persisted; returns handlers for a draggable, keyboard-operable separator. */
function useSplit(): [number, { onPointerDown: (e: React.PointerEvent) => void; onKeyDown: (e: React.KeyboardEvent) => void }] {
  const [split, setSplitState] = useState<number>(() => Number(localStorage.getItem('kd-split')) || DEFAULT_SPLIT);
  const dragging = useRef(false);
  const set = (v: number) => {
    const clamped = Math.max(25, Math.min(75, v));
    setSplitState(clamped);
    try {
      localStorage.setItem('kd-split', String(clamped));
    } catch {
      /* not persisted */
    }
  };
  return [
    split,
    {
      onPointerDown: (e) => {
        dragging.current = true;
        const move = (ev: PointerEvent) => dragging.current && set((ev.clientX / window.innerWidth) * 100);
        const up = () => {
          dragging.current = false;
          window.removeEventListener('pointermove', move);
          window.removeEventListener('pointerup', up);
        };
        window.addEventListener('pointermove', move);
        window.addEventListener('pointerup', up);
        e.preventDefault();
      },
      onKeyDown: (e) => {
        if (e.key === 'ArrowLeft') set(split - 5);
        if (e.key === 'ArrowRight') set(split + 5);
      },
    },
  ];
}
