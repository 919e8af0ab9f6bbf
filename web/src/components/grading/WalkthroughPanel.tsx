import { useEffect, useRef, useState } from 'react';
import { api, type LabDetail, type Walkthrough } from '../../api/client.ts';
import { ErrorPanel } from '../Status.tsx';
import { PreparedSteps } from './PreparedSteps.tsx';

/** Scrolls the lab text to the heading of step n (the loader titles them "Step n: …"), or to the closing notes after the last. */
function showStep(n: number): void {
  const headings = [...document.querySelectorAll<HTMLElement>('.prose h2')];
  const target = headings.find((h) => h.textContent?.startsWith(`Step ${n}:`)) ?? document.querySelector<HTMLElement>('.prose .finish');
  target?.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

/**
 * A walkthrough's step navigation in place of Check (a Killercoda scenario without verify scripts):
 * Next step moves the learner on and runs the reached step's setup, Done ends it. Nothing is graded.
 */
export function WalkthroughPanel({ attemptId, lab, onChange }: { attemptId: string; lab: LabDetail; onChange?: (state: Walkthrough) => void }) {
  const steps = lab.walkthrough?.steps ?? [];
  const [state, setState] = useState<Walkthrough | null>(null);
  const [moving, setMoving] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  // The step setups to show: those of the latest move, or after a reload the ones that failed.
  const [prepared, setPrepared] = useState<Walkthrough['stepsPrepared']>([]);
  const abort = useRef<AbortController | null>(null);

  const load = () => {
    const ctl = new AbortController();
    setError(null);
    api.walkthrough.get(attemptId, ctl.signal).then(
      (s) => {
        if (ctl.signal.aborted) return;
        setState(s);
        setPrepared(s.stepsPrepared.filter((p) => !p.ok));
        onChange?.(s);
      },
      (e: Error) => !ctl.signal.aborted && setError(e),
    );
    return ctl;
  };
  useEffect(() => {
    const ctl = load();
    return () => {
      ctl.abort();
      abort.current?.abort();
    };
    // Keyed on the attempt only: onChange changing must not re-read the position.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attemptId]);

  const next = async () => {
    if (!state) return;
    const ctl = new AbortController();
    abort.current = ctl;
    setMoving(true);
    setError(null);
    try {
      const s = await api.walkthrough.next(attemptId, state.step, ctl.signal);
      if (ctl.signal.aborted) return;
      setState(s);
      setPrepared(s.stepsPrepared);
      onChange?.(s);
      showStep(s.step);
    } catch (e) {
      if (!ctl.signal.aborted) setError(e as Error);
    } finally {
      if (!ctl.signal.aborted) setMoving(false);
    }
  };

  const current = state ? steps.find((s) => s.step === state.step) : undefined;
  const last = state !== null && state.step === steps.length;
  return (
    <div className="grade-panel walkthrough-panel" aria-label="Walkthrough steps">
      <div className="grade-actions">
        <button
          type="button"
          className="btn btn-primary walkthrough-next"
          onClick={() => void next()}
          disabled={!state || state.done || moving}
          aria-busy={moving}
        >
          {moving ? 'Moving on…' : last || state?.done ? 'Done' : 'Next step'}
        </button>
        <span className="grade-status" role="status">
          {moving ? (
            <>
              <span className="spinner" aria-hidden /> Setting up the next step…
            </>
          ) : state?.done ? (
            'Walkthrough done · not graded'
          ) : current ? (
            `Step ${current.step} of ${steps.length}: ${current.title}`
          ) : (
            ''
          )}
        </span>
      </div>
      <p className="walkthrough-note muted">
        {state?.done
          ? 'Walkthrough — not graded: nothing was checked or scored. The closing notes are below the last step.'
          : `Walkthrough — not graded: nothing is checked or scored. Do each step in the terminal, then press ${last ? 'Done' : 'Next step'}; a step with a setup of its own gets it when you reach it, as on Killercoda.`}
      </p>
      {error ? <ErrorPanel title="Could not move on" error={error} onRetry={() => (state ? void next() : load())} /> : null}
      {prepared.length ? <PreparedSteps steps={prepared} label="Steps set up" /> : null}
    </div>
  );
}
