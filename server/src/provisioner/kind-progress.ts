// kind prints its progress on stderr: " • <stage>  ..." when a stage starts, " ✓ <stage>" / " ✗ <stage>"
// when it ends, and "ERROR: …" followed by the failed command's output on failure. This turns that
// stream into stage events, the same list of steps the learner sees.

/** One change of a kind stage. */
export interface KindStageEvent {
  kind: 'start' | 'done' | 'failed';
  /** The stage as kind names it, without decoration, e.g. "Preparing nodes". */
  stage: string;
}

const STAGE_LINE = /^\s*([•✓✗])\s+(.*)$/u;

/** The stage text without kind's emoji, node-count icons and trailing "...". */
export function cleanStage(text: string): string {
  return text
    .replace(/\s*\.\.\.\s*$/u, '')
    .replace(/[^\p{L}\p{N}\s()[\]:./@≤=_+-]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** kind's stages (cleaned) in the words the learner sees; kind's own text stays in failure output. */
const PLAIN_STAGES: readonly [RegExp, string][] = [
  [/^Ensuring node image\b/, 'Checking the node image'],
  [/^Preparing nodes\b/, 'Creating the node containers'],
  [/^Writing configuration\b/, 'Writing the cluster configuration'],
  [/^Starting control-plane\b/, 'Starting the control plane'],
  [/^Installing CNI\b/, 'Installing the pod network'],
  [/^Installing StorageClass\b/, 'Installing storage'],
  [/^Joining (worker|more control-plane) nodes\b/, 'Joining the other nodes'],
  [/^Waiting .*\bcontrol-plane\b.*Ready/, 'Waiting for the control plane'],
];

/**
 * The stages `kind create cluster --wait` reports for a shape, in order and in plain words: kind skips
 * its CNI stage when the default CNI is disabled and its join stage for a cluster of one node.
 */
export function kindStages(shape: { workers: number; cni: string }): string[] {
  return [
    'Checking the node image',
    'Creating the node containers',
    'Writing the cluster configuration',
    'Starting the control plane',
    ...(shape.cni === 'none' ? [] : ['Installing the pod network']),
    'Installing storage',
    ...(shape.workers > 0 ? ['Joining the other nodes'] : []),
    'Waiting for the control plane',
  ];
}

/** The plain name of a (cleaned) kind stage: "Waiting ≤ 10m0s for control-plane = Ready" → "Waiting for the control plane". */
export function plainStage(stage: string): string {
  return PLAIN_STAGES.find(([re]) => re.test(stage))?.[1] ?? stage;
}

/** Incremental parser of kind's stderr; feed chunks as they arrive. */
export class KindProgressParser {
  #partial = '';
  #error: string[] | undefined;
  readonly #onEvent: (e: KindStageEvent) => void;

  constructor(onEvent: (e: KindStageEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Feeds a chunk of stderr; complete lines are parsed, the rest waits for the next chunk. */
  push(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line.replace(/\r$/, ''));
  }

  /** Flushes the last line; returns kind's error text (from "ERROR:" on), if it printed one. */
  end(): string | undefined {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = '';
    return this.#error?.join('\n').trim();
  }

  #line(line: string): void {
    if (this.#error) {
      this.#error.push(line);
      return;
    }
    if (line.startsWith('ERROR:')) {
      this.#error = [line];
      return;
    }
    const m = STAGE_LINE.exec(line);
    if (!m) return;
    const [, mark, rest = ''] = m;
    const stage = cleanStage(rest);
    if (!stage) return;
    if (mark === '•') {
      // " • Ready after 15s 💚" is a note, not a stage: only lines ending in "..." start one.
      if (/\.\.\.\s*$/.test(rest)) this.#onEvent({ kind: 'start', stage });
      return;
    }
    this.#onEvent({ kind: mark === '✓' ? 'done' : 'failed', stage });
  }
}
