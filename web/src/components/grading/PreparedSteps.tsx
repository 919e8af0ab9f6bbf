import type { PreparedStep } from '../../api/client.ts';

/**
 * Killercoda scenario steps whose own setup ran when the learner reached them (by a Check, or by Next
 * step in a walkthrough): ready, or failed with the setup's output.
 */
export function PreparedSteps({ steps, label, readyNote = '' }: { steps: PreparedStep[]; label: string; readyNote?: string }) {
  return (
    <ul className="grade-prepared" aria-label={label}>
      {steps.map((s) =>
        s.ok ? (
          <li key={s.step} className="grade-prepared-ok">
            Step {s.step} ({s.title}) is ready: its setup ran.{readyNote ? ` ${readyNote}` : ''}
          </li>
        ) : (
          <li key={s.step} className="grade-prepared-failed" role="alert">
            The setup of step {s.step} ({s.title}) failed. The step may not be as its text says.
            {s.output ? <pre className="grade-prepared-output">{s.output}</pre> : null}
          </li>
        ),
      )}
    </ul>
  );
}
