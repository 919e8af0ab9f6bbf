import type { GradedCheck, GradeReport as Report } from '../../api/client.ts';

const STATUS_TEXT = { pass: 'passed', fail: 'failed', error: 'could not be checked' } as const;
const STATUS_MARK = { pass: '✓', fail: '✗', error: '!' } as const;

function points(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function CheckRow({ check }: { check: GradedCheck }) {
  const showValues = check.status !== 'pass' && (check.expected !== undefined || check.actual !== undefined);
  return (
    <li className={`grade-check grade-${check.status}`}>
      <span className="grade-mark" aria-label={STATUS_TEXT[check.status]} title={STATUS_TEXT[check.status]}>
        {STATUS_MARK[check.status]}
      </span>
      <div className="grade-check-body">
        <div className="grade-check-head">
          <span className="grade-check-message">{check.message}</span>
          <span className="grade-points">
            {points(check.points)}/{points(check.maxPoints)}
            {check.required ? (
              <span className="tag tag-quiet" title="Required: if this check does not pass, the whole task scores 0">
                required
              </span>
            ) : null}
            {check.guard ? (
              <span
                className="tag tag-quiet"
                title="Already true when you started and must keep passing; it earns its share only once the task's own work passes"
              >
                guard
              </span>
            ) : null}
          </span>
        </div>
        {showValues ? (
          <dl className="grade-values">
            {check.expected !== undefined ? (
              <>
                <dt>expected</dt>
                <dd>
                  <code>{check.expected}</code>
                </dd>
              </>
            ) : null}
            {check.actual !== undefined ? (
              <>
                <dt>actual</dt>
                <dd>
                  <code>{check.actual}</code>
                </dd>
              </>
            ) : null}
          </dl>
        ) : null}
        {check.explanation ? <p className="grade-explanation">{check.explanation}</p> : null}
        {check.scoreNote ? <p className="grade-explanation grade-score-note">{check.scoreNote}</p> : null}
      </div>
    </li>
  );
}

// The messages of the checks that vetoed a task, quoted, for the sentence above its checks.
function vetoText(task: Report['tasks'][number]): string {
  return (task.vetoedBy ?? []).map((id) => `“${task.checks.find((c) => c.id === id)?.message ?? id}”`).join(' and ');
}

/** A grading report: score, then per task and per check pass/fail/error with expected vs actual and why. */
export function GradeReport({ report }: { report: Report }) {
  const errors = report.tasks.reduce((n, t) => n + t.checks.filter((c) => c.status === 'error').length, 0);
  return (
    <section className="grade-report" aria-label="Grading report">
      <header className="grade-summary">
        <strong className="grade-score">
          {points(report.score)} / {points(report.maxScore)}
        </strong>
        <span className="muted">
          {report.percent}% · graded {new Date(report.gradedAt).toLocaleTimeString()} in {(report.durationMs / 1000).toFixed(1)} s
        </span>
      </header>
      {errors > 0 ? (
        <p className="grade-note" role="note">
          {errors === 1 ? 'One check' : `${errors} checks`} could not be answered by the cluster. They score nothing this time (a required one holds its task at
          0) and are not held against you — press Check again.
        </p>
      ) : null}
      {report.tasks.map((task) => (
        <div key={task.id} className="grade-task">
          <h3 className="grade-task-title">
            <span>{task.title}</span>
            <span className={`grade-task-score${task.score === task.points ? ' grade-task-full' : ''}`}>
              {points(task.score)}/{task.points}
            </span>
          </h3>
          {task.vetoedBy?.length ? (
            <p className="grade-note grade-veto" role="note">
              This task scores 0: the required {task.vetoedBy.length === 1 ? 'check' : 'checks'} {vetoText(task)} did not pass, and a task earns nothing while
              something it requires is broken.
            </p>
          ) : null}
          <ul className="grade-checks">
            {task.checks.map((c) => (
              <CheckRow key={c.id} check={c} />
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}
