import { useEffect, useRef, useState } from 'react';

/** Minutes-left marks at which the exam warns, as the real one does. */
export const WARN_AT_MIN = [30, 15, 5] as const;

/** mm:ss or h:mm:ss for a duration in milliseconds (never negative). */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, '0');
  return `${h ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** The warning mark just crossed between two readings of the time left, if any. */
export function crossedWarning(beforeMs: number, nowMs: number): number | undefined {
  return WARN_AT_MIN.find((m) => beforeMs > m * 60_000 && nowMs <= m * 60_000);
}

/** Milliseconds until a server deadline by this machine's clock corrected by offset (server minus local); null without one. */
function remainingUntil(deadlineAt: string | null, offset: number): number | null {
  return deadlineAt ? Math.max(0, Date.parse(deadlineAt) - (Date.now() + offset)) : null;
}

/**
 * Time left until a server deadline, ticking, measured against the server's clock (serverNow at the
 * time the page received it), so a wrong clock on the learner's machine changes nothing.
 */
export function useCountdown(deadlineAt: string | null, serverNow: string, receivedAt: number): { remainingMs: number | null; warning: number | null } {
  const offset = Date.parse(serverNow) - receivedAt;
  const [remainingMs, setRemaining] = useState(() => remainingUntil(deadlineAt, offset));
  const [warning, setWarning] = useState<number | null>(null);
  const last = useRef<number | null>(null);
  useEffect(() => {
    const tick = () => {
      const r = remainingUntil(deadlineAt, offset);
      // A mark already passed when the page loaded is not announced again; only crossings are.
      if (r !== null && last.current !== null) {
        const crossed = crossedWarning(last.current, r);
        if (crossed) setWarning(crossed);
      }
      last.current = r;
      setRemaining(r);
    };
    tick();
    const t = setInterval(tick, 250);
    return () => clearInterval(t);
  }, [deadlineAt, offset]);
  return { remainingMs, warning };
}
