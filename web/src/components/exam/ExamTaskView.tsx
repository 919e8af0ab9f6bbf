import { useEffect, useRef, useState } from 'react';
import { api, type ExamAttempt } from '../../api/client.ts';
import { sendToTerminal } from '../../lib/terminal-bus.ts';
import { useAsync } from '../../lib/use-async.ts';
import { CopyButton } from '../CopyButton.tsx';
import { LabContext, type LabPageContext } from '../mdx/LabContext.ts';
import { LabBody } from '../lazy.tsx';
import { ErrorPanel, Loading } from '../Status.tsx';

type Task = ExamAttempt['tasks'][number];

/** One exam task: its context with a copy button, flag, the lab's text for this task only, and notes. */
export function ExamTaskView({
  attemptId,
  task,
  total,
  nodes,
  params,
  onFlag,
  onNotesSaved,
  onMove,
}: {
  attemptId: string;
  task: Task;
  total: number;
  nodes: { name: string; container: string }[];
  params?: Readonly<Record<string, string>>;
  onFlag: (flagged: boolean) => void;
  onNotesSaved: (notes: string) => void;
  onMove: (n: number) => void;
}) {
  const lab = useAsync((signal) => api.labs.get(task.labId, signal), [task.labId]);
  const useContext = `kubectl config use-context ${task.cluster}`;
  return (
    <article className="exam-task" aria-labelledby="exam-task-title">
      <header className="exam-task-head">
        <h2 id="exam-task-title">
          Task {task.number} <span className="muted">of {total}</span>
        </h2>
        <span className="exam-task-weight">{task.weight} %</span>
        <button
          type="button"
          className={`btn btn-small ${task.flagged ? 'btn-primary' : 'btn-outline'}`}
          aria-pressed={task.flagged}
          onClick={() => onFlag(!task.flagged)}
        >
          {task.flagged ? '⚑ Flagged' : '⚐ Flag for review'}
        </button>
      </header>
      <div className="exam-context" role="note">
        <span className="exam-context-label">Solve this task on context</span> <code className="exam-context-name">{task.cluster}</code>
        <div className="run-row">
          <pre className="run-command">
            <code>{useContext}</code>
          </pre>
          <div className="run-actions">
            <CopyButton text={useContext} label="Copy" />
            <button
              type="button"
              className="btn btn-primary btn-small"
              title="Paste into the terminal and press Enter"
              onClick={() => sendToTerminal(useContext, true)}
            >
              Run ▸
            </button>
          </div>
        </div>
      </div>
      <h3 className="exam-task-title">{task.title}</h3>
      {lab.status === 'loading' ? (
        <Loading what="task" />
      ) : lab.status === 'error' ? (
        <ErrorPanel error={lab.error} onRetry={lab.reload} />
      ) : (
        <TaskText ctx={{ lab: lab.value, taskStatus: {}, nodes, params: params ?? {}, exam: { tasks: task.taskIds, nodePrefix: `${task.cluster}-` } }} />
      )}
      <Notes key={`${attemptId}-${task.number}`} attemptId={attemptId} task={task} onSaved={onNotesSaved} />
      <div className="exam-task-move">
        <button type="button" className="btn btn-outline" disabled={task.number <= 1} onClick={() => onMove(task.number - 1)}>
          ← Previous
        </button>
        <button type="button" className="btn btn-outline" disabled={task.number >= total} onClick={() => onMove(task.number + 1)}>
          Next →
        </button>
      </div>
    </article>
  );
}

/** The lab's instructions in exam mode: only this task's section, no hints, no solutions. */
function TaskText({ ctx }: { ctx: LabPageContext }) {
  return (
    <LabContext.Provider value={ctx}>
      <div className="prose exam-task-text">
        <LabBody lab={ctx.lab} />
      </div>
    </LabContext.Provider>
  );
}

/** Notes for one task, saved on the server a moment after typing stops (and when leaving the field). */
function Notes({ attemptId, task, onSaved }: { attemptId: string; task: Task; onSaved: (notes: string) => void }) {
  const [text, setText] = useState(task.notes);
  const [state, setState] = useState<'saved' | 'dirty' | 'saving' | 'failed'>('saved');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // What is typed but not yet saved, so moving to another task (this unmounts) still saves it.
  const pending = useRef<string | null>(null);
  const save = async (value: string) => {
    clearTimeout(timer.current);
    pending.current = null;
    setState('saving');
    try {
      await api.exams.mark(attemptId, task.number, { notes: value });
      setState('saved');
      onSaved(value);
    } catch {
      setState('failed');
    }
  };
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      if (pending.current !== null) {
        const value = pending.current;
        void api.exams.mark(attemptId, task.number, { notes: value }).then(
          () => onSaved(value),
          () => {},
        );
      }
    },
    // Runs once, on unmount: the task of this Notes never changes (it is keyed by task), and onSaved
    // only patches that task's notes through a state updater, so the first one stays correct.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  return (
    <div className="exam-notes">
      <label htmlFor={`notes-${task.number}`}>
        Notes{' '}
        <span className="muted">
          ({state === 'saving' ? 'saving…' : state === 'failed' ? 'not saved — retrying when you type' : state === 'dirty' ? 'editing' : 'saved on the server'})
        </span>
      </label>
      <textarea
        id={`notes-${task.number}`}
        value={text}
        rows={4}
        maxLength={20_000}
        placeholder="What is left to do, what to check again…"
        onChange={(e) => {
          setText(e.target.value);
          setState('dirty');
          clearTimeout(timer.current);
          const v = e.target.value;
          pending.current = v;
          timer.current = setTimeout(() => void save(v), 700);
        }}
        onBlur={() => state === 'dirty' && void save(text)}
      />
    </div>
  );
}
