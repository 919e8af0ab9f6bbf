import { useState } from 'react';
import { api, type ExamAttempt, type ExamResult, type GradeReport as Report, type SolutionFile } from '../../api/client.ts';
import { GradeReport } from '../grading/GradeReport.tsx';
import { formatClock } from './countdown.ts';
import { DOMAIN_NAMES } from './domains.ts';

const pts = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** The lab report behind one exam task, in the shape the lab page's report shows. */
function reportOf(t: ExamResult['tasks'][number], gradedAt: string): Report {
  const score = t.reports.reduce((s, r) => s + r.score, 0);
  const maxScore = t.reports.reduce((s, r) => s + r.points, 0);
  return { labId: t.labId, score, maxScore, percent: maxScore ? Math.round((score / maxScore) * 1000) / 10 : 0, tasks: t.reports, gradedAt, durationMs: 0 };
}

/** The result of an exam: total, pass/fail, per domain, per task with every check, time spent and the reference solution. */
export function ExamResultView({ attempt }: { attempt: ExamAttempt }) {
  const result = attempt.result!;
  const regrade = attempt.regrade;
  const used = attempt.startedAt && attempt.submittedAt ? Date.parse(attempt.submittedAt) - Date.parse(attempt.startedAt) : null;
  const domains = new Map<string, { score: number; max: number }>();
  for (const t of result.tasks) {
    const d = domains.get(t.domain) ?? { score: 0, max: 0 };
    d.score += t.score;
    d.max += t.weight;
    domains.set(t.domain, d);
  }
  return (
    <section className="exam-result" aria-label="Exam result">
      <header className={`exam-result-head ${result.passed ? 'exam-pass' : 'exam-fail'}`}>
        <div className="exam-result-score">
          <strong>{result.percent} %</strong>
          <span className="exam-verdict">{result.passed ? 'Passed' : 'Not passed'}</span>
        </div>
        <p>
          {pts(result.score)} of {result.maxScore} points · pass mark {result.passPercent} % ·{' '}
          {attempt.submitReason === 'time' ? 'submitted when the time was up' : 'submitted by you'}
          {used !== null ? ` after ${formatClock(used)} of ${attempt.exam.minutes}:00` : ''}
        </p>
        {regrade ? (
          <p className="exam-regrade" role="status">
            Re-grade at {new Date(regrade.gradedAt).toLocaleTimeString()}: <strong>{regrade.percent} %</strong> — practice only, your exam score stays{' '}
            {result.percent} %.
          </p>
        ) : null}
      </header>
      <table className="exam-domains">
        <caption>Score per CKA domain</caption>
        <thead>
          <tr>
            <th scope="col">Domain</th>
            <th scope="col">Points</th>
            <th scope="col">%</th>
          </tr>
        </thead>
        <tbody>
          {[...domains].map(([id, d]) => (
            <tr key={id}>
              <th scope="row">{DOMAIN_NAMES[id] ?? id}</th>
              <td>
                {pts(d.score)} / {d.max}
              </td>
              <td>{d.max ? Math.round((d.score / d.max) * 100) : 0} %</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Tasks</h2>
      <ol className="exam-result-tasks">
        {result.tasks.map((t) => {
          const marks = attempt.tasks.find((x) => x.number === t.number);
          const re = regrade?.tasks.find((x) => x.number === t.number);
          return (
            <li key={t.number} className={`exam-result-task ${t.score >= t.weight ? 'is-full' : t.score > 0 ? 'is-partial' : 'is-zero'}`}>
              <details>
                <summary>
                  <span className="exam-result-task-number">{t.number}</span>
                  <span className="exam-result-task-title">{t.title}</span>
                  <span className="exam-result-task-points">
                    {pts(t.score)} / {t.weight}
                    {re && re.score !== t.score ? <span className="muted"> (re-grade {pts(re.score)})</span> : null}
                  </span>
                  <span className="muted exam-result-task-time" title="time the task was open in the navigator">
                    time {formatClock(marks?.timeMs ?? 0)}
                  </span>
                  {marks?.flagged ? <span title="you flagged this task">⚑</span> : null}
                </summary>
                <p className="muted">
                  context <code>{t.cluster}</code> · lab <code>{t.labId}</code>
                  {marks?.notes ? (
                    <>
                      {' '}
                      · your notes: <q>{marks.notes}</q>
                    </>
                  ) : null}
                </p>
                {t.error ? <p className="panel panel-error">{t.error}</p> : <GradeReport report={reportOf(re ?? t, (re ? regrade : result)!.gradedAt)} />}
                <Solution attemptId={attempt.id} number={t.number} />
              </details>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function Solution({ attemptId, number }: { attemptId: string; number: number }) {
  const [files, setFiles] = useState<SolutionFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!files) {
    return (
      <div>
        <button
          type="button"
          className="btn btn-outline btn-small"
          onClick={() =>
            api.exams.solution(attemptId, number).then(
              (r) => setFiles(r.files),
              (e: Error) => setError(e.message),
            )
          }
        >
          Show the reference solution
        </button>
        {error ? <span className="muted"> {error}</span> : null}
      </div>
    );
  }
  return (
    <div className="exam-solution" aria-label={`Reference solution of task ${number}`}>
      {files.map((f) => (
        <div key={f.path} className="codeblock">
          <div className="codeblock-bar">
            <span className="codeblock-lang">{f.path}</span>
          </div>
          <pre>
            <code>{f.text}</code>
          </pre>
        </div>
      ))}
    </div>
  );
}
