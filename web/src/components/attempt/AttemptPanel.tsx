import { useEffect, useState, type ReactNode } from 'react';
import type { LabDetail } from '../../api/client.ts';
import { LabTimer } from './LabTimer.tsx';
import { ErrorPanel, Loading } from '../Status.tsx';
import { foldSteps, useAttempt, type StepView } from './use-attempt.ts';

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** Re-renders every `ms` while `on` (for running timers). */
function useTick(on: boolean, ms = 200): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [on, ms]);
  return now;
}

function StepList({ steps }: { steps: StepView[] }) {
  const now = useTick(steps.some((s) => s.state === 'running'));
  return (
    <ol className="attempt-steps" aria-label="Progress">
      {steps.map((s) => (
        <li key={s.name} className={`attempt-step attempt-step-${s.state}`}>
          <span className="attempt-step-icon" aria-hidden>
            {s.state === 'done' ? '✓' : s.state === 'failed' ? '✗' : <span className="spinner" />}
          </span>
          <span className="attempt-step-name">{s.name}</span>
          <span className="attempt-step-time">{seconds(s.state === 'running' ? now - s.startedAt : s.elapsedMs)}</span>
        </li>
      ))}
    </ol>
  );
}

/**
 * The lab's cluster: a Start button, then queue position and live provisioning steps with their
 * elapsed times, a failure with the failed step's output, and once ready the terminal (children).
 */
export function AttemptPanel({ lab, children, onReady }: { lab: LabDetail; children: (attemptId: string) => ReactNode; onReady?: (attemptId: string | null) => void }) {
  const { attempt, events, error, loading, busy, start, finish, dismiss } = useAttempt(lab.id);
  const steps = foldSteps(events);
  // The page shows the Check button only while the cluster is there to grade.
  const readyId = attempt && (attempt.status === 'ready' || attempt.status === 'grading') ? attempt.id : null;
  useEffect(() => onReady?.(readyId), [readyId, onReady]);
  if (loading) return <Loading what="your attempt" />;

  if (!attempt) {
    return (
      <div className="attempt-panel attempt-start">
        <p>
          <strong>Your cluster and terminal appear here.</strong>
        </p>
        <p className="muted">
          Start creates a fresh kind cluster with {1 + lab.cluster.workers} node{lab.cluster.workers ? 's' : ''}
          {lab.cluster.networkPolicy ? ' (NetworkPolicy enforcement is checked before you begin)' : ''}, applies the lab&apos;s setup and opens a shell with kubectl, the{' '}
          <code>k</code> alias and completion.
        </p>
        <button type="button" className="btn btn-primary" onClick={() => void start()} disabled={busy}>
          {busy ? 'Starting…' : 'Start lab'}
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
            {attempt.status === 'grading' ? ' · checking…' : ''}
          </span>
          <LabTimer attempt={attempt} minutes={lab.minutes} />
          <button type="button" className="btn btn-outline btn-small" onClick={() => void finish()} disabled={busy}>
            Finish
          </button>
        </div>
        {children(attempt.id)}
      </div>
    );
  }

  const ended = attempt.status === 'finished' || attempt.status === 'failed' || attempt.status === 'expired';
  return (
    <div className="attempt-panel" aria-live="polite">
      <h2 className="attempt-title">
        {attempt.status === 'queued'
          ? `Waiting for a free cluster${attempt.queuePosition ? ` — position ${attempt.queuePosition} in the queue` : ''}`
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
      {steps.length ? <StepList steps={steps} /> : null}
      {attempt.failure ? (
        <div className="panel panel-error" role="alert">
          <strong>{attempt.failure.step ? `Failed at “${attempt.failure.step}”` : 'Failed'}</strong>
          <p>{attempt.failure.message}</p>
          {attempt.failure.output ? <pre className="attempt-output">{attempt.failure.output}</pre> : null}
        </div>
      ) : null}
      {attempt.endReason && attempt.status !== 'failed' ? <p className="muted">{attempt.endReason}</p> : null}
      {error ? <ErrorPanel error={error} /> : null}
      <div className="attempt-actions">
        {ended ? (
          <button type="button" className="btn btn-primary" onClick={dismiss}>
            Start again
          </button>
        ) : (
          <button type="button" className="btn btn-outline" onClick={() => void finish()} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
