import { ClusterError, type CallOptions, type ScriptRunner } from './port.ts';
import { errorMessage } from '../shared/error-message.ts';

// graders import nothing of the server's, so the command runner is described here by the shape it
// has (server/src/exec/command-runner.ts satisfies it structurally).

/** The part of the server's injectable command runner that check scripts need. */
export interface ProgramRunner {
  run(spec: {
    argv: readonly string[];
    env?: Readonly<Record<string, string>>;
    cwd?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
    okCodes?: readonly number[];
  }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;
const ANY_EXIT_CODE = Array.from({ length: 256 }, (_, i) => i);

/**
 * Creates a ScriptRunner that runs check scripts with bash on the grading host, with KUBECONFIG set
 * to the attempt's kubeconfig and otherwise only the runner's explicit base environment.
 */
export function createKubeconfigScriptRunner(runner: ProgramRunner, kubeconfigPath: string, opts: { path?: string } = {}): ScriptRunner {
  return {
    async run(script, call: CallOptions & { cwd: string; env?: Record<string, string> }) {
      // kubectl caches discovery under $HOME/.kube/cache (or the working directory's .kube when HOME
      // is unset, i.e. inside the lab folder): keep each cluster's cache beside its kubeconfig.
      const env: Record<string, string> = { ...call.env, KUBECONFIG: kubeconfigPath, KUBECACHEDIR: `${kubeconfigPath}.cache`, LC_ALL: 'C.UTF-8' };
      if (opts.path) env.PATH = opts.path;
      try {
        const res = await runner.run({
          argv: ['bash', '-c', script],
          env,
          cwd: call.cwd,
          timeoutMs: call.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
          ...(call.signal ? { signal: call.signal } : {}),
          okCodes: ANY_EXIT_CODE, // a failing script is a result, not an error
        });
        return { exitCode: res.exitCode, output: joinOutput(res.stdout, res.stderr) };
      } catch (err) {
        const reason = (err as { reason?: string } | null)?.reason;
        if (reason === 'timeout') throw new ClusterError('timeout', 'the check script ran out of time', undefined, err);
        if (reason === 'aborted') throw new ClusterError('aborted', 'the check script was cancelled', undefined, err);
        throw new ClusterError('exec', `the check script could not run: ${errorMessage(err)}`, undefined, err);
      }
    },
  };
}

function joinOutput(stdout: string, stderr: string): string {
  const out = stdout.trimEnd();
  const err = stderr.trimEnd();
  return out && err ? `${out}\n${err}` : out || err;
}
