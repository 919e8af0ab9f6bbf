import type { ExamAttempt } from '../../api/client.ts';

type Task = ExamAttempt['tasks'][number];

/** The status the navigator shows for a task: flagged wins over opened. */
export function taskState(t: Task): 'flagged' | 'opened' | 'not-opened' {
  return t.flagged ? 'flagged' : t.opened ? 'opened' : 'not-opened';
}
const MARK = { flagged: '⚑', opened: '●', 'not-opened': '○' } as const;
const WORDS = { flagged: 'flagged', opened: 'opened', 'not-opened': 'not opened' } as const;

/** The task navigator: number, weight and status of every task; the current one is highlighted. */
export function ExamNavigator({ tasks, current, onSelect }: { tasks: Task[]; current: number; onSelect: (n: number) => void }) {
  return (
    <nav className="exam-nav" aria-label="Tasks">
      <ol>
        {tasks.map((t) => {
          const state = taskState(t);
          return (
            <li key={t.number}>
              <button
                type="button"
                className={`exam-nav-item exam-nav-${state}${t.number === current ? ' exam-nav-current' : ''}`}
                aria-current={t.number === current ? 'step' : undefined}
                aria-label={`Task ${t.number}, ${t.weight} %, ${WORDS[state]}`}
                title={`${t.title} — ${WORDS[state]}`}
                onClick={() => onSelect(t.number)}
              >
                <span className="exam-nav-number">{t.number}</span>
                <span className="exam-nav-weight">{t.weight}%</span>
                <span className="exam-nav-mark" aria-hidden>
                  {MARK[state]}
                </span>
              </button>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}
