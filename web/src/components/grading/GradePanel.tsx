import { useEffect, useRef, useState } from 'react';
import { api, type Grade } from '../../api/client.ts';
import { ErrorPanel } from '../Status.tsx';
import { GradeReport } from './GradeReport.tsx';
import { PreparedSteps } from './PreparedSteps.tsx';

/**
 * The lab page's Check button: grades the attempt's cluster and shows the latest report. For a
 * Killercoda scenario whose later steps have a setup of their own (preparesSteps), a Check that
 * reaches such a step also runs that setup, and says so.
 */
export function GradePanel({ attemptId, onGraded, preparesSteps = false }: { attemptId: string; onGraded?: (grade: Grade) => void; preparesSteps?: boolean }) {
  const [last, setLast] = useState<Grade | null>(null);
  const [gradingSince, setGradingSince] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const abort = useRef<AbortController | null>(null);

  // Show the latest earlier grade when the panel opens, so a reload does not hide the last result.
  useEffect(() => {
    const ctl = new AbortController();
    api.grades.list(attemptId, ctl.signal).then(
      (list) => {
        const latest = list.grades.at(-1);
        if (latest && !ctl.signal.aborted) {
          setLast((g) => g ?? latest);
          onGraded?.(latest);
        }
      },
      () => {
        // no history is fine: the Check button still works
      },
    );
    return () => {
      ctl.abort();
      abort.current?.abort();
    };
    // Deliberately keyed on attemptId only: onGraded changing must not re-read the history.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attemptId]);

  useEffect(() => {
    if (gradingSince === null) return;
    const t = setInterval(() => setElapsed(Math.floor((Date.now() - gradingSince) / 1000)), 250);
    return () => clearInterval(t);
  }, [gradingSince]);

  const check = async () => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setElapsed(0);
    setError(null);
    setGradingSince(Date.now());
    try {
      const grade = await api.grades.grade(attemptId, ctl.signal);
      if (!ctl.signal.aborted) {
        setLast(grade);
        onGraded?.(grade);
      }
    } catch (e) {
      if (!ctl.signal.aborted) setError(e as Error);
    } finally {
      if (!ctl.signal.aborted) setGradingSince(null);
    }
  };

  const grading = gradingSince !== null;
  // The status line keeps its height and the previous report stays (dimmed) while checks run,
  // so nothing below moves when Check is pressed or when the result arrives.
  return (
    <div className="grade-panel">
      <div className="grade-actions">
        <button type="button" className="btn btn-primary grade-check-button" onClick={() => void check()} disabled={grading} aria-busy={grading}>
          {grading ? 'Checking…' : 'Check'}
        </button>
        {grading ? (
          <span className="grade-status" role="status">
            <span className="spinner" aria-hidden /> Running the checks… {elapsed > 0 ? `${elapsed} s` : ''}
          </span>
        ) : preparesSteps ? (
          <span
            className="grade-status muted"
            title="Runs the scenario's verify scripts. When the steps before a step pass, that step's own setup runs, as on Killercoda."
          >
            Tests your work; a passed step unlocks the next step's setup.
          </span>
        ) : (
          <span className="grade-status muted" title="Opens real connections from your pods and reads your objects; nothing is changed.">
            Tests your cluster; changes nothing.
          </span>
        )}
      </div>
      {error ? <ErrorPanel title="Could not grade" error={error} onRetry={() => void check()} /> : null}
      {last?.stepsPrepared?.length ? <PreparedSteps steps={last.stepsPrepared} label="Steps set up by this Check" readyNote="Go on with it." /> : null}
      {last ? (
        <div className={grading ? 'grade-stale' : undefined} aria-busy={grading}>
          <GradeReport report={last.report} />
        </div>
      ) : null}
    </div>
  );
}
