import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Attempt, type AttemptEvent } from '../../api/client.ts';

const ENDED = new Set(['finished', 'failed', 'expired']);

/** One provisioning step as the page lists it. */
export interface StepView {
  name: string;
  state: 'running' | 'done' | 'failed';
  /** Elapsed time when it ended; while running, the time it started (client clock). */
  elapsedMs: number;
  startedAt: number;
  output: string | null;
}

/** Folds the attempt's events into its step list (in order of first appearance). */
export function foldSteps(events: readonly AttemptEvent[], now = Date.now()): StepView[] {
  const steps = new Map<string, StepView>();
  for (const e of events) {
    if (e.type !== 'step' || !e.state) continue;
    const prev = steps.get(e.name);
    steps.set(e.name, { name: e.name, state: e.state, elapsedMs: e.elapsedMs, startedAt: prev?.startedAt ?? now - e.elapsedMs, output: e.output });
  }
  return [...steps.values()];
}

/**
 * The learner's attempt of a lab: the running one if any, Start, live progress over SSE (the
 * EventSource resumes after the last event id on reconnects), and Finish.
 */
export function useAttempt(labId: string) {
  const [attempt, setAttempt] = useState<Attempt | null>(null);
  const [events, setEvents] = useState<AttemptEvent[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
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
    const es = api.attempts.events(id);
    source.current = es;
    const onEvent = (msg: MessageEvent<string>) => {
      const e = JSON.parse(msg.data) as AttemptEvent;
      setEvents((list) => (list.some((x) => x.seq === e.seq) ? list : [...list, e]));
      if (e.type === 'queue') setAttempt((a) => (a ? { ...a, queuePosition: e.position } : a));
      if (e.type === 'status') {
        if (ENDED.has(e.name)) es.close();
        api.attempts.get(id).then(setAttempt, setError);
      }
    };
    for (const type of ['status', 'step', 'queue']) es.addEventListener(type, onEvent as EventListener);
    return () => {
      es.close();
      source.current = null;
    };
  }, [id, live]);

  const start = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      setAttempt(await api.attempts.start(labId));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }, [labId]);

  const finish = useCallback(async () => {
    if (!id) return;
    setBusy(true);
    try {
      setAttempt(await api.attempts.finish(id));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }, [id]);

  /** Back to the Start button after an attempt ended. */
  const dismiss = useCallback(() => {
    setAttempt(null);
    setEvents([]);
  }, []);

  return { attempt, events, error, loading, busy, start, finish, dismiss };
}
