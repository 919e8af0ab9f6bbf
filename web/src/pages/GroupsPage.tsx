import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Catalog, type ExamSummary, type GroupActivity, type GroupDetail, type Learner } from '../api/client.ts';
import { CopyButton } from '../components/CopyButton.tsx';
import { TerminalView } from '../components/lazy.tsx';
import { ErrorPanel, Loading } from '../components/Status.tsx';
import { Link, navigate } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';

const LIVE_MS = 3000;
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
const message = (e: unknown) => (e instanceof ApiError ? e.message : (e as Error).message);

/** Study groups: instructors create and run theirs; learners see theirs and join with a code. */
export function GroupsPage({ learner, joinCode }: { learner: Learner; joinCode: string | null }) {
  const [joined, setJoined] = useState<string | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  // Joining a group reloads the list: joined is the trigger, not an input of the loader.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const list = useAsync((signal) => api.groups.list(signal), [joined]);
  // An invite link opened while signed in joins the group once.
  useEffect(() => {
    if (!joinCode) return;
    api.groups.join(joinCode).then(
      (g) => {
        setJoined(g.name);
        navigate('/groups', { replace: true });
      },
      (e: unknown) => setJoinError(message(e)),
    );
  }, [joinCode]);
  const runs = learner.role === 'admin' || learner.role === 'instructor';

  if (list.status === 'loading') return <Loading what="groups" />;
  if (list.status === 'error') return <ErrorPanel error={list.error} onRetry={list.reload} />;
  const managed = list.value.groups.filter((g) => g.yourRole !== 'learner');
  const member = list.value.groups.filter((g) => g.yourRole === 'learner');
  return (
    <div className="page groups">
      <h1>Study groups</h1>
      {joined ? <p className="panel">You joined “{joined}”. Its assignments are at the top of the labs page.</p> : null}
      {joinError ? (
        <p className="form-error" role="alert">
          {joinError}
        </p>
      ) : null}
      {runs ? <CreateGroup onCreated={(id) => navigate(`/groups/${id}`)} /> : null}
      {managed.length > 0 ? (
        <section aria-labelledby="runs-title">
          <h2 id="runs-title">Groups you run</h2>
          <ul className="group-list">
            {managed.map((g) => (
              <li key={g.id}>
                <Link to={`/groups/${g.id}`}>{g.name}</Link>{' '}
                <span className="muted">
                  — {g.memberCount} members, {g.activeAttempts} working now{g.expired ? ', ended' : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="member-title">
        <h2 id="member-title">Groups you are in</h2>
        {member.length === 0 ? <p className="muted">None yet. An instructor's invite link adds you to their group.</p> : null}
        <ul className="group-list">
          {member.map((g) => (
            <li key={g.id}>
              {g.name} {g.expiresAt ? <span className="muted">— until {when(g.expiresAt)}</span> : null}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function CreateGroup({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState('');
  const [maxClusters, setMaxClusters] = useState('');
  const [ends, setEnds] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const g = await api.groups.create({ name, maxClusters: maxClusters ? Number(maxClusters) : null, expiresAt: ends ? new Date(ends).toISOString() : null });
      onCreated(g.id);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <form className="panel group-form" onSubmit={(e) => void submit(e)} aria-label="New group">
      <h2>New group</h2>
      <label>
        Name
        <input className="input" required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Clusters at once <span className="muted">(optional share of this host)</span>
        <input className="input" type="number" min={1} value={maxClusters} onChange={(e) => setMaxClusters(e.target.value)} />
      </label>
      <label>
        Ends <span className="muted">(optional)</span>
        <input className="input" type="datetime-local" value={ends} onChange={(e) => setEnds(e.target.value)} />
      </label>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="btn btn-primary">
        Create group
      </button>
    </form>
  );
}

/** One group an instructor runs: invite link, assignments, who is working on what (live) and the results export. */
export function GroupPage({ id }: { id: string }) {
  const group = useAsync((signal) => api.groups.get(id, signal), [id]);
  const catalog = useAsync((signal) => api.labs.list(signal), []);
  // Mock exams can be assigned too; without them (an error) only labs are offered.
  const exams = useAsync(
    (signal) =>
      api.exams.list(signal).then(
        (r) => r.exams,
        () => [],
      ),
    [],
  );
  if (group.status === 'loading' || catalog.status === 'loading' || exams.status === 'loading') return <Loading what="group" />;
  if (group.status === 'error') return <ErrorPanel error={group.error} onRetry={group.reload} />;
  if (catalog.status === 'error') return <ErrorPanel error={catalog.error} onRetry={catalog.reload} />;
  return <GroupView group={group.value} catalog={catalog.value} exams={exams.status === 'ok' ? exams.value : []} reload={group.reload} />;
}

function GroupView({ group, catalog, exams, reload }: { group: GroupDetail; catalog: Catalog; exams: ExamSummary[]; reload: () => void }) {
  // "lab:<id>" or "exam:<id>": one list offers both.
  const [item, setItem] = useState(catalog.labs[0] ? `lab:${catalog.labs[0].id}` : '');
  const [due, setDue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      reload();
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <div className="page group">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/groups">Groups</Link> <span aria-hidden>/</span> <span>{group.name}</span>
      </nav>
      <h1>{group.name}</h1>
      <p className="muted">
        {group.members.filter((m) => m.groupRole === 'learner').length} learners ·{' '}
        {group.maxClusters ? `${group.activeAttempts} of ${group.maxClusters} clusters in use` : `${group.activeAttempts} working now`}
        {group.expiresAt ? ` · ${group.expired ? 'ended' : 'ends'} ${when(group.expiresAt)}` : ''}
      </p>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}

      <section className="panel" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite link</h2>
        <p>
          <code className="invite-url">{group.inviteUrl}</code> {group.inviteUrl ? <CopyButton text={group.inviteUrl} label="Copy invite link" /> : null}
        </p>
        <button type="button" className="btn btn-outline btn-small" onClick={() => void act(() => api.groups.rotateInvite(group.id))}>
          Replace the link (the old one stops working)
        </button>
      </section>

      <LiveActivity groupId={group.id} />

      <section aria-labelledby="assign-title">
        <h2 id="assign-title">Assignments</h2>
        <form
          className="assign-form"
          onSubmit={(e) => {
            e.preventDefault();
            const [kind, id = ''] = item.split(/:(.*)/);
            void act(() => api.groups.assign(group.id, kind === 'exam' ? { examId: id } : { labId: id }, due ? new Date(due).toISOString() : null));
          }}
        >
          <select className="input select" aria-label="Lab or mock exam to assign" value={item} onChange={(e) => setItem(e.target.value)}>
            <optgroup label="Labs">
              {catalog.labs.map((l) => (
                <option key={l.id} value={`lab:${l.id}`}>
                  {l.title}
                </option>
              ))}
            </optgroup>
            {exams.length > 0 && (
              <optgroup label="Mock exams">
                {exams.map((e) => (
                  <option key={e.id} value={`exam:${e.id}`}>
                    {e.title}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          <input className="input" type="datetime-local" aria-label="Due" value={due} onChange={(e) => setDue(e.target.value)} />
          <button type="submit" className="btn btn-primary">
            Assign
          </button>
        </form>
        <ul className="group-list">
          {group.assignments.map((a) => (
            <li key={a.id}>
              {a.kind === 'exam' ? <span className="tag">mock exam</span> : null} {a.title ?? a.itemId} <span className="muted">— due {when(a.dueAt)}</span>{' '}
              <button type="button" className="btn btn-ghost btn-small" onClick={() => void act(() => api.groups.unassign(group.id, a.id))}>
                Withdraw
              </button>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="results-title">
        <h2 id="results-title">Results</h2>
        <a className="btn btn-outline" href={api.groups.resultsCsvUrl(group.id)} download>
          Download results (CSV)
        </a>
      </section>
    </div>
  );
}

/** Who in the group is working on what, refreshed every few seconds while the page is open. */
function LiveActivity({ groupId }: { groupId: string }) {
  const [activity, setActivity] = useState<GroupActivity | null>(null);
  const [watching, setWatching] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      api.groups.activity(groupId, ctl.signal).then(
        (a) => {
          setActivity(a);
          setError(null);
        },
        (e: unknown) => !ctl.signal.aborted && setError(message(e)),
      );
      timer = setTimeout(tick, LIVE_MS);
    };
    tick();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [groupId]);
  return (
    <section aria-labelledby="live-title">
      <h2 id="live-title">Working now</h2>
      {error ? <p className="form-error">{error} (retrying)</p> : null}
      {!activity ? (
        <Loading what="activity" />
      ) : (
        <table className="activity-table">
          <thead>
            <tr>
              <th>Learner</th>
              <th>Lab</th>
              <th>State</th>
              <th>Time in lab</th>
              <th>Last check</th>
              <th>
                <span className="visually-hidden">Help</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {activity.members.map(({ learner, attempt }) => (
              <tr key={learner.id} data-learner={learner.username}>
                <td>{learner.displayName}</td>
                <td>{attempt?.labTitle ?? attempt?.labId ?? '—'}</td>
                <td>{attempt ? attempt.status : 'not started'}</td>
                <td>{attempt?.minutesInLab !== null && attempt?.minutesInLab !== undefined ? `${attempt.minutesInLab} min` : '—'}</td>
                <td>{attempt?.lastScore !== null && attempt?.lastScore !== undefined ? `${attempt.lastScore} / ${attempt.maxScore}` : '—'}</td>
                <td>
                  {attempt && (attempt.status === 'ready' || attempt.status === 'grading') ? (
                    <button type="button" className="btn btn-outline btn-small" onClick={() => setWatching({ id: learner.id, name: learner.displayName })}>
                      Watch terminal
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {watching ? <WatchTerminal groupId={groupId} learner={watching} onClose={() => setWatching(null)} /> : null}
    </section>
  );
}

/** A read-only view of a learner's first terminal; the learner's terminal says who is watching. */
function WatchTerminal({ groupId, learner, onClose }: { groupId: string; learner: { id: string; name: string }; onClose: () => void }) {
  const found = useAsync((signal) => api.groups.memberTerminals(groupId, learner.id, signal), [groupId, learner.id]);
  return (
    <div className="panel watch-panel" aria-label={`${learner.name}'s terminal`}>
      <p>
        <strong>{learner.name}</strong>{' '}
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose}>
          Stop watching
        </button>
      </p>
      {found.status === 'loading' ? <Loading what="terminal" /> : null}
      {found.status === 'error' ? <ErrorPanel error={found.error} onRetry={found.reload} /> : null}
      {found.status === 'ok' && (!found.value.attemptId || found.value.terminals.length === 0) ? <p className="muted">No terminal is open right now.</p> : null}
      {found.status === 'ok' && found.value.attemptId && found.value.terminals[0] ? (
        <TerminalView
          key={found.value.terminals[0].id}
          attemptId={found.value.attemptId}
          terminalId={found.value.terminals[0].id}
          active
          fontSize={13}
          watch={{ whose: learner.name, ticket: () => api.groups.watchTicket(groupId, learner.id, found.value.attemptId!, found.value.terminals[0]!.id) }}
        />
      ) : null}
    </div>
  );
}
