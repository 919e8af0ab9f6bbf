import type { CheckDecl, CheckKind } from '../checks/schema.ts';

/** One task of a lab as the engine needs it (the lab loader's TaskDecl fits). */
export interface GradableTask {
  id: string;
  title: string;
  points: number;
  checks: readonly CheckDecl[];
}

/** A lab as the engine needs it: its folder (for check scripts) and its tasks. */
export interface GradableLab {
  id: string;
  dir: string;
  tasks: readonly GradableTask[];
}

export type CheckStatus = 'pass' | 'fail' | 'error';

/** The outcome of one check; `error` means the cluster or the check could not give an answer. */
export interface CheckReport {
  id: string;
  kind: CheckKind;
  /** What the check verifies, in the lab author's words. */
  message: string;
  status: CheckStatus;
  guard: boolean;
  /** A required check that does not pass vetoes its task (the task scores 0). */
  required: boolean;
  weight: number;
  /** Points earned (after guard and veto rules); maxPoints is this check's share of the task's points. */
  points: number;
  maxPoints: number;
  /** Why a passing check earned nothing (the task was vetoed, or a guard waits for the task's work). */
  scoreNote?: string;
  expected?: string;
  actual?: string;
  /** Why, in plain words: which policy blocked a probe, which field differed, what the script said. */
  explanation?: string;
  durationMs: number;
}

export interface TaskReport {
  id: string;
  title: string;
  points: number;
  score: number;
  /** Ids of the required checks that did not pass: the task scores 0 because of them. */
  vetoedBy?: string[];
  checks: CheckReport[];
}

/** The result of grading one lab on one cluster. */
export interface GradeReport {
  labId: string;
  score: number;
  maxScore: number;
  /** 0..100, rounded to one decimal. */
  percent: number;
  tasks: TaskReport[];
  gradedAt: string;
  durationMs: number;
}

/** What a check runner returns before scoring. */
export interface CheckOutcome {
  status: CheckStatus;
  expected?: string;
  actual?: string;
  explanation?: string;
}
