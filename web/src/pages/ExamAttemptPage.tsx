import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type ExamAttempt } from '../api/client.ts';
import { StepList } from '../components/attempt/AttemptPanel.tsx';
import { formatClock, useCountdown, WARN_AT_MIN } from '../components/exam/countdown.ts';
import { ExamNavigator, taskState } from '../components/exam/ExamNavigator.tsx';
import { ExamResultView } from '../components/exam/ExamResultView.tsx';
import { ExamTaskView } from '../components/exam/ExamTaskView.tsx';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { preloadTerminal } from '../components/lazy.tsx';
import { TerminalPane } from '../components/terminal/TerminalPane.tsx';
import { Link } from '../lib/router.tsx';

/** The exam attempt as last fetched, with when it arrived (for the server clock). */
interface Fetched {
  attempt: ExamAttempt;
  receivedAt: number;
}

function useExamAttempt(id: string) {
  const [state, setState] = useState<Fetched | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const refresh = useCallback(async () => {
    try {
      const attempt = await api.exams.get(id);
      setState({ attempt, receivedAt: Date.now() });
      setError(null);
    } catch (e) {
      setError(e as Error);
    }
  }, [id]);
  const set = useCallback((attempt: ExamAttempt) => setState({ attempt, receivedAt: Date.now() }), []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const status = state?.attempt.status;
  useEffect(() => {
    // Fast while something changes on the server by itself, slow otherwise (time-up comes from the server).
    const ms = status === 'starting' || status === 'grading' ? 1000 : status === 'running' || status === 'review' ? 10_000 : 0;
    if (!ms) return;
    const t = setInterval(() => void refresh(), ms);
    return () => clearInterval(t);
  }, [status, refresh]);
  return { state, error, refresh, set, patch: (f: (a: ExamAttempt) => ExamAttempt) => setState((s) => (s ? { ...s, attempt: f(s.attempt) } : s)) };
}

/** One exam attempt: clusters being prepared, the exam screen, grading, then the result and review. */
export function ExamAttemptPage({ id }: { id: string }) {
  const x = useExamAttempt(id);
  const title = x.state?.attempt.exam.title;
  useEffect(() => {
    if (title !== undefined) document.title = `${title} — kubedrill`;
  }, [title]);
  const status = x.state?.attempt.status;
  useEffect(() => {
    if (status === 'starting' || status === 'running' || status === 'review') preloadTerminal();
  }, [status]);
  if (x.error && !x.state)
    return (
      <div className="page">
        <ErrorPanel error={x.error} onRetry={() => void x.refresh()} title="This exam could not be opened" />
      </div>
    );
  if (!x.state) return <Loading what="exam" />;
  const a = x.state.attempt;
  if (a.status === 'starting') return <Starting attempt={a} onStop={async () => x.set(await api.exams.act(a.id, 'finish'))} />;
  if (a.status === 'failed') {
    return (
      <div className="page">
        <h1>{a.exam.title}</h1>
        <div className="panel panel-error" role="alert">
          <strong>The exam could not go on</strong>
          <p>{a.failure}</p>
        </div>
        <p>
          <Link to="/exams">← Back to the exams</Link>
        </p>
      </div>
    );
  }
  if (a.status === 'running') return <ExamScreen fetched={x.state} onChange={x.set} patch={x.patch} refresh={x.refresh} />;
  if (a.status === 'grading') {
    return (
      <div className="page exam-grading" role="status">
        <span className="spinner" aria-hidden /> Submitted — grading every task on your clusters…
      </div>
    );
  }
  return <Review fetched={x.state} onChange={x.set} />;
}

function Starting({ attempt, onStop }: { attempt: ExamAttempt; onStop: () => void }) {
  return (
    <div className="page exam-starting">
      <h1>{attempt.exam.title}</h1>
      <p>
        Preparing {attempt.clusters.length} cluster{attempt.clusters.length === 1 ? '' : 's'}. The {attempt.exam.minutes}-minute countdown starts when all of
        them are ready.
      </p>
      <div className="exam-clusters">
        {attempt.clusters.map((c) => (
          <section key={c.context} className="panel" aria-label={`cluster ${c.context}`}>
            <h2>
              <code>{c.context}</code>{' '}
              <span className="muted">
                {c.status}
                {c.queuePosition ? ` (place ${c.queuePosition} in the queue)` : ''}
              </span>
            </h2>
            {/* One plan per cluster: each is its own attempt with its own steps. Running times are not sent here. */}
            <StepList
              label={`Progress of ${c.context}`}
              serverNow={0}
              steps={c.steps.map((s) => ({ ...s, startedAt: 0, output: null, note: s.note ?? null }))}
            />
            {c.failure ? <p className="panel panel-error">{c.failure}</p> : null}
          </section>
        ))}
      </div>
      <button type="button" className="btn btn-ghost" onClick={onStop}>
        Stop and delete the clusters
      </button>
    </div>
  );
}

function ExamScreen({
  fetched,
  onChange,
  patch,
  refresh,
}: {
  fetched: Fetched;
  onChange: (a: ExamAttempt) => void;
  patch: (f: (a: ExamAttempt) => ExamAttempt) => void;
  refresh: () => Promise<void>;
}) {
  const a = fetched.attempt;
  const [current, setCurrent] = useState<number>(() => a.focusTask ?? 1);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const { remainingMs, warning } = useCountdown(a.deadlineAt, a.serverNow, fetched.receivedAt);
  const [shownWarning, setShownWarning] = useState<number | null>(null);
  const task = a.tasks.find((t) => t.number === current) ?? a.tasks[0]!;

  const select = useCallback(
    (n: number) => {
      setCurrent(n);
      patch((x) => ({ ...x, focusTask: n, tasks: x.tasks.map((t) => (t.number === n ? { ...t, opened: true } : t)) }));
      void api.exams.focus(a.id, n).catch(() => {});
    },
    [a.id, patch],
  );
  // The task shown when the screen opens counts as opened (and starts its time).
  const first = useRef(false);
  useEffect(() => {
    if (first.current) return;
    first.current = true;
    if (a.focusTask !== current) select(current);
  }, [a.focusTask, current, select]);

  useEffect(() => {
    if (!warning) return;
    setShownWarning(warning);
    const t = setTimeout(() => setShownWarning(null), 15_000);
    return () => clearTimeout(t);
  }, [warning]);
  // Time is up: the server submits; ask until it has.
  useEffect(() => {
    if (remainingMs !== 0) return;
    const t = setInterval(() => void refresh(), 1000);
    return () => clearInterval(t);
  }, [remainingMs, refresh]);

  const flag = async (flagged: boolean) => {
    patch((x) => ({ ...x, tasks: x.tasks.map((t) => (t.number === task.number ? { ...t, flagged } : t)) }));
    await api.exams.mark(a.id, task.number, { flagged }).catch(() => void refresh());
  };
  const submit = async () => {
    setBusy(true);
    try {
      onChange(await api.exams.act(a.id, 'submit'));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const flagged = a.tasks.filter((t) => t.flagged);
  const unopened = a.tasks.filter((t) => taskState(t) === 'not-opened');
  const low = remainingMs !== null && remainingMs <= 15 * 60_000;
  const critical = remainingMs !== null && remainingMs <= 5 * 60_000;

  return (
    <div className="exam-screen">
      <header className="exam-bar">
        <strong className="exam-bar-title">{a.exam.title}</strong>
        <span className={`exam-timer${critical ? ' exam-timer-critical' : low ? ' exam-timer-low' : ''}`} role="timer" aria-label="Time left">
          {remainingMs === null ? '--:--' : formatClock(remainingMs)}
        </span>
        <span className="muted exam-bar-hint">
          {remainingMs === 0 ? 'Time is up — submitting…' : `${a.exam.tasks.length} tasks · pass mark ${a.exam.passPercent} %`}
        </span>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => setConfirming(true)}>
          Submit exam
        </button>
      </header>
      {shownWarning ? (
        <div className="exam-warning" role="alert">
          {shownWarning} minutes left.
          {shownWarning === WARN_AT_MIN[WARN_AT_MIN.length - 1] ? ' Save your work: at 0 the terminal turns read-only and the exam is submitted.' : ''}
        </div>
      ) : null}
      <ExamNavigator tasks={a.tasks} current={task.number} onSelect={select} />
      <div className="lab-layout exam-layout">
        <div className="lab-instructions">
          <ExamTaskView
            attemptId={a.id}
            task={task}
            total={a.tasks.length}
            nodes={a.clusters.find((c) => c.context === task.cluster)?.nodes ?? []}
            params={a.params[task.labId] ?? {}}
            onFlag={(f) => void flag(f)}
            onNotesSaved={(notes) => patch((x) => ({ ...x, tasks: x.tasks.map((t) => (t.number === task.number ? { ...t, notes } : t)) }))}
            onMove={select}
          />
          <NodeList attempt={a} />
        </div>
        <div className="split-handle" aria-hidden />
        <aside className="lab-side" aria-label="Terminal">
          <TerminalPane attemptId={a.id} />
        </aside>
      </div>
      {confirming ? (
        <div className="modal-backdrop">
          <div className="modal" role="dialog" aria-modal="true" aria-labelledby="submit-title">
            <h2 id="submit-title">Submit the exam now?</h2>
            <p>
              {remainingMs !== null ? `${formatClock(remainingMs)} would be left. ` : ''}After submitting, the terminal turns read-only and every task is
              graded.
            </p>
            {flagged.length ? (
              <p>
                <strong>Flagged for review:</strong> {flagged.map((t) => `task ${t.number}`).join(', ')}
              </p>
            ) : null}
            {unopened.length ? (
              <p>
                <strong>Never opened:</strong> {unopened.map((t) => `task ${t.number}`).join(', ')}
              </p>
            ) : null}
            {!flagged.length && !unopened.length ? <p>Every task was opened and none is flagged.</p> : null}
            <div className="row">
              <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void submit()}>
                {busy ? 'Grading…' : 'Submit now'}
              </button>
              <button type="button" className="btn btn-ghost" autoFocus onClick={() => setConfirming(false)}>
                Back to the exam
              </button>
            </div>
          </div>
        </div>
      ) : null}
    </div>
  );
}

/** The nodes `ssh` reaches, per context. */
function NodeList({ attempt }: { attempt: ExamAttempt }) {
  return (
    <details className="exam-nodes">
      <summary>Clusters and nodes</summary>
      <ul>
        {attempt.clusters.map((c) => (
          <li key={c.context}>
            <code>{c.context}</code>:{' '}
            {c.nodes
              .map((n) => (
                <code key={n.name} title={`kubectl: ${n.container}`}>
                  ssh {n.name}
                </code>
              ))
              .reduce<React.ReactNode[]>((acc, el, i) => (i ? [...acc, ', ', el] : [el]), [])}
          </li>
        ))}
      </ul>
    </details>
  );
}

function Review({ fetched, onChange }: { fetched: Fetched; onChange: (a: ExamAttempt) => void }) {
  const a = fetched.attempt;
  const { remainingMs } = useCountdown(a.status === 'review' ? a.reviewUntil : null, a.serverNow, fetched.receivedAt);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: 'regrade' | 'unlock' | 'finish') => {
    setBusy(action);
    setError(null);
    try {
      onChange(await api.exams.act(a.id, action));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(null);
    }
  };
  const live = a.status === 'review';
  return (
    <div className={live ? 'lab-layout exam-layout' : 'page'}>
      <div className={live ? 'lab-instructions' : ''}>
        <nav className="crumbs" aria-label="Breadcrumb">
          <Link to="/exams">Exams</Link> <span aria-hidden>/</span> <span>{a.exam.title}</span>
        </nav>
        <h1>{a.exam.title}: result</h1>
        {live ? (
          <div className="panel exam-review-bar">
            <p>
              Review: your clusters stay for <strong>{remainingMs === null ? '…' : formatClock(remainingMs)}</strong> so you can look at what went wrong.{' '}
              {a.inputUnlocked ? 'The terminal takes input again; changes do not change your score.' : 'The terminal is read-only.'}
            </p>
            <div className="row">
              <button type="button" className="btn btn-primary" disabled={busy !== null} onClick={() => void act('regrade')}>
                {busy === 'regrade' ? 'Re-grading…' : 'Re-grade'}
              </button>
              {!a.inputUnlocked ? (
                <button type="button" className="btn btn-outline" disabled={busy !== null} onClick={() => void act('unlock')}>
                  Unlock the terminal to explore
                </button>
              ) : null}
              <button type="button" className="btn btn-ghost" disabled={busy !== null} onClick={() => void act('finish')}>
                End review and delete the clusters
              </button>
            </div>
            {error ? <p className="panel panel-error">{error}</p> : null}
          </div>
        ) : (
          <p className="muted">The review period is over; the clusters were deleted.</p>
        )}
        <ExamResultView attempt={a} />
        <p>
          <Link to="/history">Your history →</Link>
        </p>
      </div>
      {live ? (
        <>
          <div className="split-handle" aria-hidden />
          <aside className="lab-side" aria-label="Terminal">
            <TerminalPane attemptId={a.id} />
          </aside>
        </>
      ) : null}
    </div>
  );
}
