import { api } from '../api/client.ts';
import { formatClock } from '../components/exam/countdown.ts';
import { DOMAIN_SHORT } from '../components/exam/domains.ts';
import { TrendChart } from '../components/exam/TrendChart.tsx';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { Link } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';

/** Past exam attempts with their score per domain and a trend chart; best score and time per lab. */
export function HistoryPage() {
  const exams = useAsync((signal) => api.exams.history(signal), []);
  const labs = useAsync((signal) => api.exams.labRecords(signal), []);
  if (exams.status === 'loading' || labs.status === 'loading') return <Loading what="history" />;
  if (exams.status === 'error')
    return (
      <div className="page">
        <ErrorPanel error={exams.error} onRetry={exams.reload} />
      </div>
    );
  const graded = exams.value.attempts.filter((a) => a.percent !== null).reverse();
  const domainName = new Map(exams.value.domains.map((d) => [d.id, d.name]));
  const domainsSeen = exams.value.domains.filter((d) => exams.value.attempts.some((a) => a.domains.some((x) => x.id === d.id)));
  return (
    <div className="page history">
      <h1>Your history</h1>
      <section aria-labelledby="h-exams">
        <h2 id="h-exams">Mock exams</h2>
        {graded.length ? (
          <TrendChart
            points={graded.map((a) => ({ at: a.submittedAt ?? a.createdAt, percent: a.percent!, label: a.title }))}
            passPercent={graded.at(-1)!.passPercent}
          />
        ) : (
          <p className="muted">
            No graded exam yet. <Link to="/exams">Take a mock exam →</Link>
          </p>
        )}
        {exams.value.attempts.length ? (
          <table className="history-table">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Exam</th>
                <th scope="col">Score</th>
                <th scope="col">Time used</th>
                {domainsSeen.map((d) => (
                  <th scope="col" key={d.id} title={d.name}>
                    {DOMAIN_SHORT[d.id] ?? d.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {exams.value.attempts.map((a) => (
                <tr key={a.id}>
                  <td>{new Date(a.createdAt).toLocaleString()}</td>
                  <td>
                    <Link to={`/exams/attempts/${a.id}`}>{a.title}</Link>
                  </td>
                  <td>
                    {a.percent === null ? (
                      a.status
                    ) : (
                      <span className={a.passed ? 'ok' : 'bad'}>
                        {a.percent} % {a.passed ? 'passed' : 'not passed'}
                      </span>
                    )}
                  </td>
                  <td>{a.seconds === null ? '—' : formatClock(a.seconds * 1000)}</td>
                  {domainsSeen.map((d) => {
                    const x = a.domains.find((y) => y.id === d.id);
                    return (
                      <td key={d.id} title={domainName.get(d.id)}>
                        {x && x.maxScore ? `${Math.round((x.score / x.maxScore) * 100)} %` : '—'}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <section aria-labelledby="h-labs">
        <h2 id="h-labs">Labs</h2>
        {labs.status === 'error' ? (
          <ErrorPanel error={labs.error} onRetry={labs.reload} />
        ) : labs.value.labs.length ? (
          <table className="history-table">
            <thead>
              <tr>
                <th scope="col">Lab</th>
                <th scope="col">Attempts</th>
                <th scope="col">Best score</th>
                <th scope="col">Best time to 100 %</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {labs.value.labs.map((l) => (
                <tr key={l.labId}>
                  <td>
                    <Link to={`/labs/${l.labId}`}>{l.title ?? l.labId}</Link>
                  </td>
                  <td>{l.attempts}</td>
                  <td>{l.bestScore === null ? 'not checked' : `${l.bestScore}/${l.maxScore}`}</td>
                  <td className={l.bestSeconds !== null && l.minutes !== null ? (l.bestSeconds <= l.minutes * 60 ? 'ok' : 'bad') : ''}>
                    {l.bestSeconds === null ? '—' : formatClock(l.bestSeconds * 1000)}
                  </td>
                  <td>{l.minutes === null ? '—' : `${l.minutes} min`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No lab attempts yet.</p>
        )}
      </section>
    </div>
  );
}
