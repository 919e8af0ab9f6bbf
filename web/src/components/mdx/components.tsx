import { Children, isValidElement, useContext, useId, useState, useSyncExternalStore, type ReactElement, type ReactNode } from 'react';
import { hasTerminal, onTerminalChange, sendToTerminal } from '../../lib/terminal-bus.ts';
import { CopyButton } from '../CopyButton.tsx';
import { LabContext, useLab } from './LabContext.ts';

// The components lab instructions may use (see labs/README.md), plus overrides for code blocks.

/** The plain text of rendered children; <Node> placeholders become `nodeText(name)`, <Param> ones `paramText(name)`. */
function textOf(node: ReactNode, nodeText: (name: string) => string = (n) => n, paramText: (name: string) => string = (n) => `<${n}>`): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map((n: ReactNode) => textOf(n, nodeText, paramText)).join('');
  if (isValidElement(node)) {
    if (node.type === Node) return nodeText((node.props as { name: string }).name);
    if (node.type === Param) return paramText((node.props as { name: string }).name);
    return textOf((node as ReactElement<{ children?: ReactNode }>).props.children, nodeText, paramText);
  }
  return '';
}

/** The Kubernetes node name behind an exam-style name (node01) in the running attempt, if known. */
function useKubernetesNodeName(): (name: string) => string | undefined {
  const { nodes } = useLab();
  return (name) => nodes.find((n) => n.name === name)?.container;
}

/**
 * <Node name="node01" />: a node as the exam names it (controlplane, node01, node02…). `ssh node01`
 * works as written; while an attempt runs, the Kubernetes node name (what kubectl shows) is added.
 */
export function Node({ name }: { name: string }) {
  // In an exam the node belongs to the task's cluster: ssh k8s-c1-node01.
  const shown = `${useLab().exam?.nodePrefix ?? ''}${name}`;
  const real = useKubernetesNodeName()(shown);
  return (
    <span className="node-name" title={real ? `Kubernetes node name: ${real}` : 'ssh to it by this name from the terminal'}>
      <code>{shown}</code>
      {real && real !== name ? (
        <span className="node-name-real muted">
          {' '}
          (kubectl: <code>{real}</code>)
        </span>
      ) : null}
    </span>
  );
}

/**
 * <Param name="ns" />: a value the attempt drew for one of the lab's params (labs/README.md,
 * "Parameters"). Before an attempt runs, the param's name stands in for it.
 */
export function Param({ name }: { name: string }) {
  const value = useLab().params?.[name];
  if (value === undefined) {
    return (
      <code className="param param-unset" title="each attempt draws its own value: start the lab to see it">
        ‹{name}›
      </code>
    );
  }
  return (
    <code className="param" title={`drawn for this attempt (${name})`}>
      {value}
    </code>
  );
}

/** <Task id="…">: the section of the instructions that describes one graded task. */
export function Task({ id, children }: { id: string; children?: ReactNode }) {
  const { lab, taskStatus, exam } = useLab();
  if (exam && !exam.tasks.includes(id)) return null;
  const index = lab.tasks.findIndex((t) => t.id === id);
  const task = lab.tasks[index];
  const status = taskStatus[id]?.status ?? 'todo';
  return (
    <section className={`task task-${status}`} id={`task-${id}`} aria-labelledby={`task-${id}-title`}>
      <header className="task-header">
        <span className="task-number" aria-hidden>
          {index + 1}
        </span>
        <h2 id={`task-${id}-title`}>{task?.title ?? id}</h2>
        {exam ? null : <span className="task-points">{task?.points ?? '?'} pts</span>}
      </header>
      <div className="task-body">{children}</div>
    </section>
  );
}

/** <Hint title="…">: collapsed help the learner opens on demand. */
export function Hint({ title, children }: { title?: string; children?: ReactNode }) {
  if (useContext(LabContext)?.exam) return null;
  return (
    <details className="hint">
      <summary>
        <span className="hint-label">Hint</span>
        {title ? <span className="hint-title">{title}</span> : null}
      </summary>
      <div className="hint-body">{children}</div>
    </details>
  );
}

/** <Solution>: hidden until the learner confirms they want to see it. */
export function Solution({ title, children }: { title?: string; children?: ReactNode }) {
  const [state, setState] = useState<'hidden' | 'confirm' | 'shown'>('hidden');
  const id = useId();
  if (useContext(LabContext)?.exam) return null;
  return (
    <div className={`solution solution-${state}`}>
      {state === 'hidden' && (
        <button type="button" className="btn btn-outline" onClick={() => setState('confirm')} aria-controls={id}>
          Reveal solution{title ? `: ${title}` : ''}
        </button>
      )}
      {state === 'confirm' && (
        <div className="solution-confirm" role="alertdialog" aria-labelledby={`${id}-q`}>
          <p id={`${id}-q`}>Show the reference solution? Trying first teaches more — in the exam there is none.</p>
          <div className="row">
            <button type="button" className="btn btn-primary" autoFocus onClick={() => setState('shown')}>
              Yes, show it
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setState('hidden')}>
              Keep trying
            </button>
          </div>
        </div>
      )}
      {state === 'shown' && (
        <div id={id} className="solution-body">
          <div className="solution-label">Solution{title ? `: ${title}` : ''}</div>
          {children}
        </div>
      )}
    </div>
  );
}

function useTerminalConnected(): boolean {
  return useSyncExternalStore(onTerminalChange, hasTerminal);
}

/** <Run>command</Run>: a command with copy and "run in terminal" buttons. */
export function Run({ title, children }: { title?: string; children?: ReactNode }) {
  // In a command a <Node> placeholder becomes the Kubernetes name (kubectl needs it; ssh takes both).
  const realName = useKubernetesNodeName();
  const { params } = useLab();
  const command = textOf(
    children,
    (n) => realName(n) ?? n,
    (n) => params?.[n] ?? `<${n}>`,
  ).trim();
  const connected = useTerminalConnected();
  const [note, setNote] = useState<string | null>(null);
  return (
    <div className="run">
      {title ? <div className="run-title">{title}</div> : null}
      <div className="run-row">
        <pre className="run-command">
          <code>
            <span className="prompt" aria-hidden>
              ${' '}
            </span>
            {command}
          </code>
        </pre>
        <div className="run-actions">
          <CopyButton text={command} />
          <button
            type="button"
            className="btn btn-primary btn-small"
            disabled={!connected}
            title={connected ? 'Paste into the terminal and press Enter' : 'Start the lab to open a terminal'}
            onClick={() => {
              if (!sendToTerminal(command, true)) setNote('Start the lab to open a terminal first.');
            }}
          >
            Run ▸
          </button>
        </div>
      </div>
      {note ? <div className="run-note">{note}</div> : null}
    </div>
  );
}

/** Fenced code blocks: language label and a copy button. */
export function Pre({ children }: { children?: ReactNode }) {
  const child = Children.only(children) as ReactElement<{ className?: string; children?: ReactNode }>;
  const lang = /language-(\w+)/.exec(child.props.className ?? '')?.[1];
  const text = textOf(child.props.children).replace(/\n$/, '');
  return (
    <div className="codeblock">
      <div className="codeblock-bar">
        <span className="codeblock-lang">{lang ?? 'text'}</span>
        <CopyButton text={text} />
      </div>
      <pre>
        <code className={child.props.className}>{text}</code>
      </pre>
    </div>
  );
}

/** Markdown tables scroll inside their own box on narrow screens instead of widening the page. */
export function Table({ children }: { children?: ReactNode }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Table">
      <table>{children}</table>
    </div>
  );
}

/** Components handed to getMDXComponent(). */
/**
 * <Finish>: closing words shown once every task of the lab has passed its latest Check, or in a
 * walkthrough once the learner pressed Done (a Killercoda scenario's finish page); until then a
 * line says they are waiting. Not shown in exams.
 */
export function Finish({ children }: { children?: ReactNode }) {
  const { lab, taskStatus, exam, walkthroughDone } = useLab();
  if (exam) return null;
  // A walkthrough has no tasks to pass: its finish page follows Done on the last step.
  if (lab.walkthrough && !walkthroughDone)
    return <p className="finish finish-pending muted">When you press Done on the last step, the closing notes appear here.</p>;
  const done = Boolean(lab.walkthrough) || (lab.tasks.length > 0 && lab.tasks.every((t) => taskStatus[t.id]?.status === 'passed'));
  if (!done) return <p className="finish finish-pending muted">When every task passes its Check, the closing notes appear here.</p>;
  return (
    <section className="finish finish-done" aria-label="Finished">
      {children}
    </section>
  );
}

export const mdxComponents = { Task, Hint, Solution, Run, Node, Param, Finish, pre: Pre, table: Table };
