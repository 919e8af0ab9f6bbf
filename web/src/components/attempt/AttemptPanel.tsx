import { useEffect, useState, type ReactNode } from 'react';
import type { Attempt, LabDetail } from '../../api/client.ts';
import { preloadTerminal } from '../lazy.tsx';
import { LabTimer } from './LabTimer.tsx';
import { ErrorPanel, Loading } from '../Status.tsx';
import { foldSteps, useAttempt, type StepView } from './use-attempt.ts';

const seconds = (ms: number) => (ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
/** A wait in whole minutes, rounded up ("1 min" at least). */
const minutesText = (ms: number) => `${Math.max(1, Math.ceil(ms / 60_000))} min`;

/** "3 min 12 s", "45 s": a duration as a learner reads it. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h} h ${m} min`;
  return m ? `${m} min ${s} s` : `${s} s`;
}

/** Re-renders every `ms` while `on` (for running timers). */
function useTick(on: boolean, ms = 200): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [on, ms]);
  return now;
}

const STEP_ICONS: Record<Exclude<StepView['state'], 'running'>, string> = { pending: '○', done: '✓', failed: '✗', skipped: '–', 'not-run': '·' };

/** What a step's time column says: its duration, how long it has run, or why it has none. */
export function stepTime(s: Pick<StepView, 'state' | 'elapsedMs' | 'startedAt'>, serverNow: number): string {
  if (s.state === 'running') return s.startedAt ? seconds(serverNow - s.startedAt) : '';
  if (s.state === 'done' || s.state === 'failed') return seconds(s.elapsedMs);
  return s.state === 'skipped' ? 'skipped' : s.state === 'not-run' ? 'not run' : '';
}

/** Every step of the plan from the start: pending, running with its time, done with its duration, failed, skipped or not run. */
export function StepList({ steps, serverNow, label = 'Progress' }: { steps: readonly StepView[]; serverNow: number; label?: string }) {
  return (
    <ol className="attempt-steps" aria-label={label}>
      {steps.map((s) => (
        <li key={s.name} className={`attempt-step attempt-step-${s.state}`} title={s.note ?? undefined}>
          <span className="attempt-step-icon" aria-hidden>
            {s.state === 'running' ? <span className="spinner" /> : STEP_ICONS[s.state]}
          </span>
          <span>
            <span className="attempt-step-name">{s.name}</span>
            {s.note ? <span className="attempt-step-note"> — {s.note}</span> : null}
          </span>
          <span className="attempt-step-time">{stepTime(s, serverNow)}</span>
        </li>
      ))}
    </ol>
  );
}

/** Time worked on an attempt: from ready (the terminal appeared) to its end. */
export function workedMs(a: Pick<Attempt, 'readyAt' | 'endedAt' | 'createdAt'>): number | null {
  if (!a.endedAt) return null;
  return Date.parse(a.endedAt) - Date.parse(a.readyAt ?? a.createdAt);
}

/**
 * The lab's cluster: a Start button, then queue position and live provisioning steps with their
 * elapsed times, a failure with the failed step's output, and once ready the terminal (children).
 * Finish asks first, grades once more and deletes the cluster; onEnded then lets the page show the result.
 */
export function AttemptPanel({
  lab,
  children,
  onReady,
  onEnded,
}: {
  lab: LabDetail;
  children: (attemptId: string) => ReactNode;
  onReady?: (attemptId: string | null) => void;
  onEnded?: (attempt: Attempt) => void;
}) {
  const { attempt, events, offset, error, loading, busy, start, finish, dismiss } = useAttempt(lab.id);
  const [confirming, setConfirming] = useState(false);
  const failed = attempt?.status === 'failed';
  // An attempt that failed runs nothing more: steps still pending (a restart interrupted it) did not run.
  const steps = foldSteps(events).map((s) => (failed && s.state === 'pending' ? { ...s, state: 'not-run' as const, note: null } : s));
  const preparing = attempt !== null && ['queued', 'provisioning', 'setting-up'].includes(attempt.status);
  const now = useTick(preparing);
  const serverNow = now - offset;
  // The page shows the Check button only while the cluster is there to grade.
  const readyId = attempt && (attempt.status === 'ready' || attempt.status === 'grading') ? attempt.id : null;
  useEffect(() => onReady?.(readyId), [readyId, onReady]);
  const needsTerminal = preparing || readyId !== null;
  useEffect(() => {
    if (needsTerminal) preloadTerminal();
  }, [needsTerminal]);
  const endedAttempt = attempt && ['finished', 'expired', 'failed'].includes(attempt.status) ? attempt : null;
  // Once per attempt and end state (the attempt object itself is replaced on every refetch).
  const endedKey = endedAttempt ? `${endedAttempt.id}:${endedAttempt.status}` : '';
  useEffect(() => {
    if (endedAttempt) onEnded?.(endedAttempt);
    // Keyed on endedKey alone: a refetched attempt object or a new onEnded must not report the end again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [endedKey]);
  useEffect(() => setConfirming(false), [readyId]);
  if (loading) return <Loading what="your attempt" />;

  if (!attempt) {
    return (
      <div className="attempt-panel attempt-start">
        <p>
          <strong>Your cluster and terminal appear here.</strong>
        </p>
        <p className="muted">
          Start creates a fresh kind cluster with {(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers} node
          {(lab.cluster.controlPlanes ?? 1) + lab.cluster.workers > 1 ? 's' : ''} (
          {[
            ...Array.from({ length: lab.cluster.controlPlanes ?? 1 }, (_, i) => `controlplane${i ? i + 1 : ''}`),
            ...Array.from({ length: lab.cluster.workers }, (_, i) => `node${String(i + 1).padStart(2, '0')}`),
          ].join(', ')}
          ){lab.cluster.networkPolicy ? ', enforcing NetworkPolicy' : ''}, applies the lab&apos;s setup and opens a shell with kubectl, the <code>k</code> alias
          and completion.
        </p>
        <button type="button" className="btn btn-primary" onClick={() => void start()} disabled={busy !== false}>
          {busy === 'starting' ? 'Starting…' : 'Start lab'}
        </button>
        {error ? <ErrorPanel error={error} title="The lab could not be started" /> : null}
      </div>
    );
  }

  if (attempt.status === 'ready' || attempt.status === 'grading') {
    return (
      <div className="attempt-running">
        <div className="attempt-bar">
          <span className="muted" title={attempt.clusterName ?? ''}>
            Cluster ready{attempt.expiresAt ? ` · until ${new Date(attempt.expiresAt).toLocaleTimeString()}` : ''}
          </span>
          <LabTimer attempt={attempt} minutes={lab.minutes} />
          <button type="button" className="btn btn-outline btn-small" onClick={() => setConfirming(true)} disabled={busy !== false || confirming}>
            {busy === 'grading' ? 'Grading…' : busy === 'finishing' ? 'Deleting the cluster…' : 'Finish'}
          </button>
        </div>
        {confirming && busy === false ? (
          <div className="attempt-confirm" role="alertdialog" aria-labelledby="finish-q" aria-describedby="finish-d">
            <strong id="finish-q">Finish this lab?</strong>
            <p id="finish-d">
              Your cluster is graded one last time and then <strong>deleted</strong>, with its nodes and your terminals. Your result stays on this page.
            </p>
            <div className="row">
              <button
                type="button"
                className="btn btn-primary btn-small"
                autoFocus
                onClick={() => {
                  setConfirming(false);
                  void finish({ grade: true });
                }}
              >
                Grade and delete the cluster
              </button>
              <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirming(false)}>
                Keep working
              </button>
            </div>
          </div>
        ) : null}
        {error ? <ErrorPanel error={error} /> : null}
        {children(attempt.id)}
      </div>
    );
  }

  const ended = endedAttempt !== null;
  const worked = endedAttempt && endedAttempt.status !== 'failed' && endedAttempt.readyAt ? workedMs(endedAttempt) : null;
  const elapsed = serverNow - Date.parse(attempt.createdAt);
  return (
    <div className="attempt-panel" aria-live="polite">
      <h2 className="attempt-title">
        {attempt.status === 'queued'
          ? `Waiting for a free cluster${attempt.queuePosition ? ` — position ${attempt.queuePosition} in the queue` : ''}${attempt.queueWaitMs !== null ? `; one frees up within ${minutesText(attempt.queueWaitMs)} at the latest` : ''}`
          : attempt.status === 'provisioning'
            ? 'Creating your cluster'
            : attempt.status === 'setting-up'
              ? 'Setting up the lab'
              : attempt.status === 'failed'
                ? 'The cluster could not be prepared'
                : attempt.status === 'expired'
                  ? 'This attempt expired'
                  : 'This attempt is finished'}
      </h2>
      {preparing ? (
        <p className="attempt-elapsed muted" role="timer">
          <span className="attempt-elapsed-time">{seconds(elapsed)}</span> elapsed
          {attempt.estimateMs ? ` · recent starts took about ${seconds(attempt.estimateMs)}` : ''}
        </p>
      ) : null}
      {ended && attempt.status !== 'failed' ? (
        <p className="attempt-summary">
          {worked !== null ? <>You worked {duration(worked)}. </> : null}The cluster has been deleted; your result is on the left.
        </p>
      ) : null}
      {steps.length && !(ended && attempt.status !== 'failed') ? <StepList steps={steps} serverNow={serverNow} /> : null}
      {attempt.failure ? (
        <div className="panel panel-error" role="alert">
          <strong>{attempt.failure.step ? `Failed at “${attempt.failure.step}”` : 'Failed'}</strong>
          <p>{attempt.failure.message}</p>
          {attempt.failure.output ? <pre className="attempt-output">{attempt.failure.output}</pre> : null}
        </div>
      ) : null}
      {/* Why it ended, unless the learner ended it (the summary above says so already). */}
      {attempt.endReason && attempt.status !== 'failed' && !/^finished( by the learner)?$/.test(attempt.endReason) ? (
        <p className="muted">{attempt.endReason}</p>
      ) : null}
      {error ? <ErrorPanel error={error} /> : null}
      <div className="attempt-actions">
        {ended ? (
          <button type="button" className="btn btn-primary" onClick={dismiss}>
            Start again
          </button>
        ) : (
          <button type="button" className="btn btn-outline" onClick={() => void finish()} disabled={busy !== false}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
