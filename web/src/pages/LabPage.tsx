import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, type Grade, type GradeReport, type LabDetail } from '../api/client.ts';
import { GradePanel } from '../components/grading/GradePanel.tsx';
import { LabContext, type LabPageContext, type TaskStatus } from '../components/mdx/LabContext.ts';
import { LabBody } from '../components/mdx/LabBody.tsx';
import { AttemptPanel } from '../components/attempt/AttemptPanel.tsx';
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
  const onGraded = useCallback((grade: Grade) => setTaskStatus(statusFromReport(grade.report)), []);
  const onReady = useCallback((id: string | null) => {
    setReadyAttempt(id);
    if (!id) setTaskStatus({});
  }, []);
  const ctx: LabPageContext = useMemo(() => ({ lab, taskStatus }), [lab, taskStatus]);
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
              <span>{total} pts</span>
              <span>Kubernetes {lab.kubernetes}</span>
              <span>
                {1 + lab.cluster.workers} node{lab.cluster.workers ? 's' : ''}
              </span>
              {lab.cluster.networkPolicy ? <span title="The cluster enforces NetworkPolicies (self-tested before you start)">NetworkPolicy</span> : null}
            </div>
          </header>

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
          {readyAttempt ? <GradePanel attemptId={readyAttempt} onGraded={onGraded} /> : null}

          <div className="prose">
            <LabBody lab={lab} />
          </div>
        </article>
        <div className="split-handle" role="separator" aria-orientation="vertical" aria-label="Resize panes" tabIndex={0} {...setSplit} />
        <aside className="lab-side" aria-label="Terminal">
          <AttemptPanel lab={lab} onReady={onReady}>
            {(attemptId) => <TerminalPane attemptId={attemptId} />}
          </AttemptPanel>
        </aside>
      </div>
    </LabContext.Provider>
  );
}

const STATUS_MARK: Record<TaskStatus, string> = { todo: '○', passed: '✓', partial: '◐', failed: '✗' };
const STATUS_TITLE: Record<TaskStatus, string> = { todo: 'Not graded yet', passed: 'Passed', partial: 'Partly done', failed: 'Not passed yet' };

/** Task statuses for the task list and the <Task> sections from the latest grade. */
function statusFromReport(report: GradeReport): LabPageContext['taskStatus'] {
  const out: LabPageContext['taskStatus'] = {};
  for (const t of report.tasks) {
    out[t.id] = { status: t.score >= t.points ? 'passed' : t.score > 0 ? 'partial' : 'failed', score: t.score };
  }
  return out;
}

/** Split position in percent, persisted; returns handlers for a draggable, keyboard-operable separator. */
function useSplit(): [number, { onPointerDown: (e: React.PointerEvent) => void; onKeyDown: (e: React.KeyboardEvent) => void }] {
  const [split, setSplitState] = useState<number>(() => Number(localStorage.getItem('kd-split')) || 50);
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
