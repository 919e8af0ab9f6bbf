import { useState } from 'react';
import { api, type ExamSummary } from '../api/client.ts';
import { DOMAIN_NAMES } from '../components/exam/domains.ts';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { Link, navigate } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';

/** Mock exams: what each one is, the learner's running exam, and Start. */
export function ExamsPage() {
  const exams = useAsync((signal) => api.exams.list(signal), []);
  const history = useAsync((signal) => api.exams.history(signal), []);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  if (exams.status === 'loading') return <Loading what="exams" />;
  if (exams.status === 'error')
    return (
      <div className="page">
        <ErrorPanel error={exams.error} onRetry={exams.reload} />
      </div>
    );
  const running = history.status === 'ok' ? history.value.attempts.find((a) => a.status !== 'finished' && a.status !== 'failed') : undefined;
  const start = async (e: ExamSummary) => {
    setBusy(e.id);
    setError(null);
    try {
      const a = await api.exams.start(e.id);
      navigate(`/exams/attempts/${a.id}`);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="page">
      <h1>Mock exams</h1>
      <p className="lab-summary">
        Timed like the CKA: several clusters, weighted tasks, one context per cluster, a countdown that keeps running when you reload, flags and notes, and a
        result that shows every check. No hints, no solutions until you submit.
      </p>
      {running ? (
        <div className="panel exam-running" role="status">
          You are taking <strong>{running.title}</strong> ({running.status}). <Link to={`/exams/attempts/${running.id}`}>Go back to it →</Link>
        </div>
      ) : null}
      {error ? <ErrorPanel error={error} title="The exam could not start" /> : null}
      <div className="exam-cards">
        {exams.value.exams.map((e) => {
          const domains = [...new Set(e.tasks.map((t) => t.domain))];
          const past = history.status === 'ok' ? history.value.attempts.filter((a) => a.examId === e.id && a.percent !== null) : [];
          const best = past.length ? Math.max(...past.map((a) => a.percent!)) : null;
          return (
            <section key={e.id} className="panel exam-card" aria-labelledby={`exam-${e.id}`} data-exam-id={e.id}>
              <h2 id={`exam-${e.id}`}>{e.title}</h2>
              <p>{e.summary}</p>
              <ul className="lab-meta">
                <li>{e.minutes} min</li>
                <li>{e.tasks.length} tasks</li>
                <li>
                  {e.clusters.length} cluster{e.clusters.length === 1 ? '' : 's'}: {e.clusters.map((c) => c.name).join(', ')}
                </li>
                <li>pass mark {e.passPercent} %</li>
                <li>{domains.map((d) => DOMAIN_NAMES[d] ?? d).join(', ')}</li>
              </ul>
              {best !== null ? (
                <p className="muted">
                  Taken {past.length} time{past.length === 1 ? '' : 's'}; best {best} % ({best >= e.passPercent ? 'passed' : 'not passed'}).
                </p>
              ) : null}
              <button
                type="button"
                className="btn btn-primary"
                disabled={busy !== null || (running !== undefined && running.examId !== e.id)}
                onClick={() => void start(e)}
              >
                {busy === e.id ? 'Starting…' : running?.examId === e.id ? 'Resume exam' : 'Start exam'}
              </button>
            </section>
          );
        })}
        {exams.value.exams.length === 0 ? <p className="muted">This server has no exams yet (exams/&lt;id&gt;/exam.yaml).</p> : null}
      </div>
      <p>
        <Link to="/history">Your history: past exams, scores per domain, best lab times →</Link>
      </p>
    </div>
  );
}
