import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Attempt, type AttemptEvent } from '../../api/client.ts';

const ENDED = new Set(['finished', 'failed', 'expired']);

/** One provisioning step as the page lists it. */
export interface StepView {
  name: string;
  /** pending: planned, not started; skipped: not needed here (note says why); not-run: an earlier step failed. */
  state: 'pending' | NonNullable<AttemptEvent['state']>;
  /** Time the step took (when it ended) or had taken at its last event. */
  elapsedMs: number;
  /** When the step started, on the server's clock (ms since the epoch); 0 before it started. */
  startedAt: number;
  output: string | null;
  note: string | null;
}

/**
 * Folds the attempt's events into its step list: the latest plan (every step, pending or skipped),
 * each step updated by its latest event; a step the plan did not list goes after the step reported before it.
 */
export function foldSteps(events: readonly AttemptEvent[]): StepView[] {
  const plan = events.findLast((e) => e.type === 'plan')?.plan ?? [];
  const steps: StepView[] = plan.map((p) => ({ name: p.name, state: p.state, elapsedMs: 0, startedAt: 0, output: null, note: p.note ?? null }));
  let last = -1;
  for (const e of events) {
    if (e.type !== 'step' || !e.state) continue;
    let i = steps.findIndex((s) => s.name === e.name);
    const prev = i >= 0 ? steps[i] : undefined;
    const started = prev && prev.state !== 'pending';
    const startedAt = e.state === 'running' || !started ? Date.parse(e.at) - e.elapsedMs : prev.startedAt;
    // A step skipped at run time keeps the plan's note on when it would have run.
    const view: StepView = {
      name: e.name,
      state: e.state,
      elapsedMs: e.elapsedMs,
      startedAt,
      output: e.output,
      note: e.state === 'skipped' ? (prev?.note ?? null) : null,
    };
    if (i < 0) steps.splice((i = last + 1), 0, view);
    else steps[i] = view;
    last = Math.max(last, i);
  }
  return steps;
}

/**
 * How far the browser's clock is ahead of the server's, from when events arrived: the smallest
 * (arrival − sent) is the freshest estimate (latency included). Running timers subtract it, so a
 * skewed client clock cannot show negative or jumping times.
 */
export function clockOffset(arrivals: readonly { at: string; receivedAt: number }[]): number {
  let best = Infinity;
  for (const a of arrivals) best = Math.min(best, a.receivedAt - Date.parse(a.at));
  return Number.isFinite(best) ? best : 0;
}

/**
 * The learner's attempt of a lab: the running one if any, Start, live progress over SSE (the
 * EventSource resumes after the last event id on reconnects), and Finish (graded once more first).
 */
export function useAttempt(labId: string) {
  const [attempt, setAttempt] = useState<Attempt | null>(null);
  const [events, setEvents] = useState<AttemptEvent[]>([]);
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState<false | 'starting' | 'grading' | 'finishing'>(false);
  const source = useRef<EventSource | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    api.attempts
      .list(ctl.signal)
      .then((r) => setAttempt(r.attempts.find((a) => a.labId === labId && !ENDED.has(a.status)) ?? null))
      .catch((e: Error) => e.name !== 'AbortError' && setError(e))
      .finally(() => setLoading(false));
    return () => ctl.abort();
  }, [labId]);

  const id = attempt?.id;
  const live = attempt ? !ENDED.has(attempt.status) : false;
  useEffect(() => {
    if (!id || !live) return;
    setEvents([]);
    const arrivals: { at: string; receivedAt: number }[] = [];
    const es = api.attempts.events(id);
    source.current = es;
    const onEvent = (msg: MessageEvent<string>) => {
      const e = JSON.parse(msg.data) as AttemptEvent;
      arrivals.push({ at: e.at, receivedAt: Date.now() });
      setOffset(clockOffset(arrivals));
      setEvents((list) => (list.some((x) => x.seq === e.seq) ? list : [...list, e]));
      if (e.type === 'queue') setAttempt((a) => (a ? { ...a, queuePosition: e.position } : a));
      if (e.type === 'status') {
        if (ENDED.has(e.name)) es.close();
        api.attempts.get(id).then(setAttempt, setError);
      }
    };
    for (const type of ['plan', 'status', 'step', 'queue']) es.addEventListener(type, onEvent as EventListener);
    return () => {
      es.close();
      source.current = null;
    };
  }, [id, live]);

  const start = useCallback(async () => {
    setBusy('starting');
    setError(null);
    try {
      setAttempt(await api.attempts.start(labId));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }, [labId]);

  /** Ends the attempt; with grade, the cluster is graded one last time first (the result the page keeps). */
  const finish = useCallback(
    async (opts: { grade?: boolean } = {}) => {
      if (!id) return;
      setError(null);
      try {
        if (opts.grade && (attempt?.status === 'ready' || attempt?.status === 'grading')) {
          setBusy('grading');
          // A grade that fails (cluster trouble) must not keep the learner from finishing.
          await api.grades.grade(id).catch(() => undefined);
        }
        setBusy('finishing');
        setAttempt(await api.attempts.finish(id));
      } catch (e) {
        setError(e as Error);
      } finally {
        setBusy(false);
      }
    },
    [id, attempt?.status],
  );

  /** Back to the Start button after an attempt ended. */
  const dismiss = useCallback(() => {
    setAttempt(null);
    setEvents([]);
  }, []);

  return { attempt, events, offset, error, loading, busy, start, finish, dismiss };
}
