import { useEffect } from 'react';
import { api } from '../api/client.ts';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { useAsync } from '../lib/use-async.ts';

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

/** For admins: can this host run labs? The doctor's checks with remedies, and cluster counts. */
export function AdminHealthPage() {
  const health = useAsync((signal) => api.admin.health(signal), []);
  useEffect(() => {
    document.title = 'Host health — kubedrill';
  }, []);
  if (health.status === 'loading') return <Loading what="host checks" />;
  if (health.status === 'error') {
    return (
      <div className="page">
        <ErrorPanel error={health.error} onRetry={health.reload} title="Host checks are not available" />
      </div>
    );
  }
  const { checks, clusters } = health.value;
  return (
    <div className="page">
      <h1>Host health</h1>
      <p className="muted">
        Clusters: {clusters.claimed} in use, {clusters.warm} warm, {clusters.creating} being created, {clusters.deleting} being deleted — at most {clusters.max}; {clusters.queued} attempt
        {clusters.queued === 1 ? '' : 's'} queued.
      </p>
      <ul className="health-checks">
        {checks.map((c) => (
          <li key={c.id} className={`health-check health-${c.status}`}>
            <strong>
              <span aria-label={c.status}>{MARK[c.status]}</span> {c.title}
            </strong>
            <div className="muted">{c.detail}</div>
            {c.remedy ? <p className="health-remedy">→ {c.remedy}</p> : null}
          </li>
        ))}
      </ul>
      <button type="button" className="btn btn-outline" onClick={health.reload}>
        Check again
      </button>
    </div>
  );
}
