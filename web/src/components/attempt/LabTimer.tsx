import { useEffect, useState } from 'react';
import { api, type Attempt } from '../../api/client.ts';
import { formatClock } from '../exam/countdown.ts';

/**
 * Timed practice: the time since the cluster was ready against the lab's minutes; once a Check
 * scores 100 % the clock stops there ("done in"), which the history page keeps as the lab's best time.
 */
export function LabTimer({ attempt, minutes }: { attempt: Attempt; minutes: number }) {
  const [now, setNow] = useState(Date.now());
  const [doneAt, setDoneAt] = useState<number | null>(null);
  useEffect(() => {
    if (doneAt) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [doneAt]);
  useEffect(() => {
    const ctl = new AbortController();
    const look = () =>
      api.grades.list(attempt.id, ctl.signal).then(
        (r) => {
          const full = r.grades.find((g) => g.score >= g.maxScore && g.maxScore > 0);
          if (full) setDoneAt(Date.parse(full.createdAt));
        },
        () => {},
      );
    void look();
    const t = setInterval(() => void look(), 10_000);
    return () => {
      ctl.abort();
      clearInterval(t);
    };
  }, [attempt.id]);
  if (!attempt.readyAt) return null;
  const elapsed = (doneAt ?? now) - Date.parse(attempt.readyAt);
  const over = elapsed > minutes * 60_000;
  return (
    <span
      className={`lab-timer${over ? ' lab-timer-over' : ''}`}
      role="timer"
      aria-label={doneAt ? 'Time to 100 %' : 'Time on this lab'}
      title={`target: ${minutes} min, as on the exam`}
    >
      {doneAt ? 'done in ' : ''}
      {formatClock(elapsed)} / {minutes}:00
    </span>
  );
}
