import { createContext, useContext } from 'react';
import type { LabDetail, NodeName } from '../../api/client.ts';

/** Status of a task as far as the page knows (grading fills it in). */
export type TaskStatus = 'todo' | 'passed' | 'partial' | 'failed';

export interface LabPageContext {
  lab: LabDetail;
  taskStatus: Record<string, { status: TaskStatus; score?: number }>;
  /** The running attempt's nodes (exam-style name and Kubernetes name); empty without one. */
  nodes: NodeName[];
  /** The values the running attempt drew for the lab's params (what <Param name> shows); absent or empty without one. */
  params?: Readonly<Record<string, string>>;
  /** A walkthrough (lab.walkthrough): the learner pressed Done on its last step. */
  walkthroughDone?: boolean;
  /** Exam mode: only these tasks' sections show, and hints and solutions stay hidden, as in the exam. */
  exam?: { tasks: readonly string[]; /** `<context>-`: node names in the text are the exam cluster's (k8s-c1-node01). */ nodePrefix: string };
}

export const LabContext = createContext<LabPageContext | null>(null);

/** The lab the MDX components are rendered for. */
export function useLab(): LabPageContext {
  const ctx = useContext(LabContext);
  if (!ctx) throw new Error('lab components must be rendered inside a lab page');
  return ctx;
}
