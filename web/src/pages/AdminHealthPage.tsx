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
  const { checks, clusters, presets } = health.value;
  return (
    <div className="page">
      <h1>Host health</h1>
      <p className="muted">
        Clusters: {clusters.claimed} in use, {clusters.warm} warm, {clusters.creating} being created, {clusters.deleting} being deleted — at most {clusters.max}
        ; {clusters.queued} attempt
        {clusters.queued === 1 ? '' : 's'} queued.
      </p>
      {presets.length ? (
        <section aria-labelledby="presets-title">
          <h2 id="presets-title">Set up in advance</h2>
          <ul className="health-checks">
            {presets.map((p) => (
              <li key={p.key} className={`health-check health-${p.excluded ? 'warn' : 'ok'}`}>
                <strong>{p.key}</strong>{' '}
                <span className="muted">
                  ({p.shape || 'unknown shape'}, from {p.source})
                </span>
                <div className="muted">
                  {p.excluded ? `not kept set up: ${p.excluded}` : `${p.ready} of ${p.wanted} ready${p.settingUp ? `, ${p.settingUp} being set up` : ''}`}
                </div>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
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
      <GroupUsage />
    </div>
  );
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** Clusters, CPU and memory in use per study group (one docker stats sample, taken on demand). */
function GroupUsage() {
  const usage = useAsync((signal) => api.admin.usage(signal), []);
  if (usage.status === 'loading') return <Loading what="usage" />;
  if (usage.status === 'error') return <ErrorPanel error={usage.error} onRetry={usage.reload} title="Usage is not available" />;
  const { total, groups, ungrouped } = usage.value;
  const rows = [...groups.map((g) => ({ ...g, key: g.id, share: g.maxClusters })), { ...ungrouped, key: 'none', name: 'In no group', share: null }];
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">In use per group</h2>
      <table className="activity-table">
        <thead>
          <tr>
            <th>Group</th>
            <th>Clusters</th>
            <th>CPU (cores)</th>
            <th>Memory</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.name}</td>
              <td>
                {r.clusters}
                {r.share ? ` of ${r.share}` : ''}
              </td>
              <td>{(r.cpuPercent / 100).toFixed(2)}</td>
              <td>{gib(r.memoryBytes)}</td>
            </tr>
          ))}
          <tr>
            <td>
              <strong>Host</strong>
            </td>
            <td>
              {total.clusters} of {total.maxClusters}
            </td>
            <td>{(total.cpuPercent / 100).toFixed(2)}</td>
            <td>{gib(total.memoryBytes)}</td>
          </tr>
        </tbody>
      </table>
      <button type="button" className="btn btn-ghost btn-small" onClick={usage.reload}>
        Sample again
      </button>
    </section>
  );
}
