// The named steps of provisioning: what the page lists with elapsed times, and what a failure names.
import { errorMessage } from '../errors.ts';

/**
 * One step's change of state; output only on failure (the failed command's output). skipped: the
 * plan named it but this cluster did not need it; not-run: an earlier step failed.
 */
export interface StepEvent {
  step: string;
  status: 'running' | 'done' | 'failed' | 'skipped' | 'not-run';
  output?: string;
}

/** Receives step events as they happen. */
export type StepSink = (e: StepEvent) => void;

/** A provisioning failure: which step failed and the output of the command that failed. */
export class ProvisionError extends Error {
  readonly step: string;
  readonly output: string;
  constructor(step: string, message: string, output = '') {
    super(message);
    this.name = 'ProvisionError';
    this.step = step;
    this.output = output;
  }
}

/** Runs fn as the named step: reports running, then done or failed (with the error's output). */
export async function step<T>(name: string, sink: StepSink, fn: () => Promise<T>): Promise<T> {
  sink({ step: name, status: 'running' });
  try {
    const out = await fn();
    sink({ step: name, status: 'done' });
    return out;
  } catch (e) {
    const err = e instanceof ProvisionError ? e : new ProvisionError(name, errorMessage(e).split('\n')[0]!, outputOf(e));
    sink({ step: err.step, status: 'failed', output: err.output });
    throw err;
  }
}

/** The output worth showing for a failure: a command's stderr/stdout, else the message. */
export function outputOf(e: unknown): string {
  if (e && typeof e === 'object' && 'stderr' in e) {
    const { stderr, stdout } = e as { stderr: string; stdout: string };
    const text = `${stderr}\n${stdout}`.trim();
    if (text) return text.slice(-8000);
  }
  return errorMessage(e);
}
