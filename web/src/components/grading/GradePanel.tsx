import { useEffect, useRef, useState } from 'react';
import { api, type Grade } from '../../api/client.ts';
import { ErrorPanel } from '../Status.tsx';
import { GradeReport } from './GradeReport.tsx';

type PanelState = { status: 'idle' } | { status: 'grading'; startedAt: number } | { status: 'done'; grade: Grade } | { status: 'error'; error: Error };

/** The lab page's Check button: grades the attempt's cluster and shows the latest report. */
export function GradePanel({ attemptId, onGraded }: { attemptId: string; onGraded?: (grade: Grade) => void }) {
  const [state, setState] = useState<PanelState>({ status: 'idle' });
  const [elapsed, setElapsed] = useState(0);
  const abort = useRef<AbortController | null>(null);

  // Show the latest earlier grade when the panel opens, so a reload does not hide the last result.
  useEffect(() => {
    const ctl = new AbortController();
    api.grades.list(attemptId, ctl.signal).then(
      (list) => {
        const last = list.grades.at(-1);
        if (last && !ctl.signal.aborted) {
          setState((s) => (s.status === 'idle' ? { status: 'done', grade: last } : s));
          onGraded?.(last);
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
  }, [attemptId]);

  useEffect(() => {
    if (state.status !== 'grading') return;
    const t = setInterval(() => setElapsed(Math.floor((Date.now() - state.startedAt) / 1000)), 250);
    return () => clearInterval(t);
  }, [state]);

  const check = async () => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setElapsed(0);
    setState({ status: 'grading', startedAt: Date.now() });
    try {
      const grade = await api.grades.grade(attemptId, ctl.signal);
      if (!ctl.signal.aborted) {
        setState({ status: 'done', grade });
        onGraded?.(grade);
      }
    } catch (error) {
      if (!ctl.signal.aborted) setState({ status: 'error', error: error as Error });
    }
  };

  const grading = state.status === 'grading';
  return (
    <div className="grade-panel">
      <div className="grade-actions">
        <button type="button" className="btn btn-primary" onClick={() => void check()} disabled={grading} aria-busy={grading}>
          {grading ? 'Checking…' : 'Check'}
        </button>
        {grading ? (
          <span className="status-loading" role="status">
            <span className="spinner" aria-hidden /> Running the checks in your cluster… {elapsed > 0 ? `${elapsed} s` : ''}
          </span>
        ) : (
          <span className="muted">Opens real connections from your pods and reads your objects; nothing is changed.</span>
        )}
      </div>
      {state.status === 'error' ? <ErrorPanel title="Could not grade" error={state.error} onRetry={() => void check()} /> : null}
      {state.status === 'done' ? <GradeReport report={state.grade.report} /> : null}
    </div>
  );
}
