import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { ClusterError, type CallOptions, type ClusterPort, type ExecResult, type KubeObject, type ListQuery, type ObjectRef, type PodTarget } from './port.ts';
import { errorMessage } from '../shared/error-message.ts';

// The real ClusterPort on @kubernetes/client-node: the KubeConfig supplies the server, TLS material
// and credentials (client certs, tokens, exec plugins); requests are plain HTTP(S) so objects come
// back exactly as the API prints them (no model classes, no Date objects), and every call honours a
// deadline and an AbortSignal. Exec speaks the channel protocol itself (v5.channel.k8s.io, falling
// back to v4) because client-node's Exec neither takes a signal nor reports a socket that drops
// before the status frame.

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_APPLY_TIMEOUT_MS = 120_000;
const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const STREAM = { stdout: 1, stderr: 2, status: 3, close: 255 } as const;

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
}

interface RawResponse {
  status: number;
  body: string;
}

/** The V1Status the API server sends on the exec status channel and in error responses. */
interface V1Status {
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

/** Combines the caller's signal with a deadline; `done()` must be called in finally. */
function deadline(opts: CallOptions | undefined, defaultMs: number, what: string) {
  const ms = opts?.timeoutMs ?? defaultMs;
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, ms);
  const onAbort = () => ctrl.abort();
  opts?.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts?.signal?.aborted) ctrl.abort();
  return {
    signal: ctrl.signal,
    /** The ClusterError for an aborted call: a timeout or the caller's cancellation. */
    failure(cause?: unknown): ClusterError {
      return timedOut
        ? new ClusterError('timeout', `${what} timed out after ${ms} ms`, undefined, cause)
        : new ClusterError('aborted', `${what} was cancelled`, undefined, cause);
    },
    done() {
      clearTimeout(timer);
      opts?.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function parseStatus(body: string): V1Status | undefined {
  try {
    const v = JSON.parse(body) as unknown;
    return v && typeof v === 'object' ? (v as V1Status) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The API server's bare "404 page not found" (plain text, not a Status): nothing serves that path,
 * which for a path built from cached discovery means the kind moved (deleted and made again,
 * perhaps with another scope) — unlike a Status 404, which says the object does not exist.
 */
function noHandler(res: { status: number; body: string }): boolean {
  return res.status === 404 && parseStatus(res.body) === undefined;
}

function apiFailure(what: string, status: number, body: string): ClusterError {
  const message = parseStatus(body)?.message ?? body.slice(0, 300);
  const reason = status === 401 || status === 403 ? 'forbidden' : 'api';
  return new ClusterError(reason, `${what}: HTTP ${status}: ${message}`, status);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

function networkFailure(what: string, err: unknown): ClusterError {
  const code = (err as { code?: string } | null)?.code;
  const text = errorMessage(err);
  if (code && NETWORK_CODES.has(code)) return new ClusterError('unreachable', `${what}: cannot reach the API server (${code})`, undefined, err);
  return new ClusterError('unreachable', `${what}: ${text}`, undefined, err);
}

function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Creates the real ClusterPort for one cluster from a kubeconfig file path or a loaded KubeConfig. */
export function createKubePort(config: string | KubeConfig, options: { context?: string } = {}): ClusterPort {
  const kc = typeof config === 'string' ? loadKubeConfig(config) : config;
  if (options.context) kc.setCurrentContext(options.context);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterError('api', 'the kubeconfig names no current cluster');
  const server = new URL(cluster.server);
  const basePath = server.pathname.replace(/\/$/, '');
  const discovery = new Map<string, ApiResource[]>();

  async function requestOptions(): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  }

  async function request(method: string, path: string, signal: AbortSignal, what: string, body?: { contentType: string; text: string }): Promise<RawResponse> {
    const base = await requestOptions();
    const lib = server.protocol === 'http:' ? http : https;
    return new Promise<RawResponse>((resolve, reject) => {
      const headers: Record<string, string> = { ...(base.headers as Record<string, string> | undefined), accept: 'application/json' };
      if (body) {
        headers['content-type'] = body.contentType;
        headers['content-length'] = String(Buffer.byteLength(body.text));
      }
      const req = lib.request(
        {
          ...base,
          protocol: server.protocol,
          hostname: server.hostname.replace(/^\[|\]$/g, ''),
          port: server.port || (server.protocol === 'http:' ? 80 : 443),
          method,
          path: basePath + path,
          headers,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => reject(networkFailure(what, err)));
        },
      );
      req.on('error', (err) => reject(signal.aborted ? err : networkFailure(what, err)));
      req.end(body?.text);
    });
  }

  /** Runs one request under a deadline, translating aborts into ClusterError timeout/aborted. */
  async function call(
    method: string,
    path: string,
    opts: CallOptions | undefined,
    what: string,
    body?: { contentType: string; text: string },
    defaultMs = DEFAULT_TIMEOUT_MS,
  ) {
    const d = deadline(opts, defaultMs, what);
    try {
      return await request(method, path, d.signal, what, body);
    } catch (err) {
      throw d.signal.aborted ? d.failure(err) : err;
    } finally {
      d.done();
    }
  }

  async function discover(apiVersion: string, opts: CallOptions | undefined, refresh: boolean): Promise<ApiResource[]> {
    const cached = discovery.get(apiVersion);
    if (cached && !refresh) return cached;
    const res = await call('GET', apiVersionPath(apiVersion), opts, `discovering ${apiVersion}`);
    if (res.status === 404) {
      discovery.set(apiVersion, []);
      return [];
    }
    if (res.status >= 400) throw apiFailure(`discovering ${apiVersion}`, res.status, res.body);
    const list = JSON.parse(res.body) as { resources?: ApiResource[] };
    const resources = (list.resources ?? []).filter((r) => !r.name.includes('/'));
    discovery.set(apiVersion, resources);
    return resources;
  }

  /** The resource for apiVersion+kind; re-reads discovery once on a miss (a CRD may be new). */
  async function resourceFor(apiVersion: string, kind: string, opts: CallOptions | undefined): Promise<ApiResource | undefined> {
    const found = (await discover(apiVersion, opts, false)).find((r) => r.kind === kind);
    if (found) return found;
    return (await discover(apiVersion, opts, true)).find((r) => r.kind === kind);
  }

  /** The resource for apiVersion+kind from discovery read again, for a path that answered as if nothing were served there. */
  async function rediscover(apiVersion: string, kind: string, opts: CallOptions | undefined): Promise<ApiResource | undefined> {
    return (await discover(apiVersion, opts, true)).find((r) => r.kind === kind);
  }

  function collectionPath(apiVersion: string, resource: ApiResource, namespace: string | undefined): string {
    const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${apiVersionPath(apiVersion)}${ns}/${resource.name}`;
  }

  async function get(ref: ObjectRef, opts?: CallOptions): Promise<KubeObject | undefined> {
    const what = `reading ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    const at = (r: ApiResource) => `${collectionPath(ref.apiVersion, r, ref.namespace ?? 'default')}/${encodeURIComponent(ref.name)}`;
    let resource = await resourceFor(ref.apiVersion, ref.kind, opts);
    if (!resource) return undefined; // the kind is not served, so no such object exists
    let res = await call('GET', at(resource), opts, what);
    if (noHandler(res)) {
      resource = await rediscover(ref.apiVersion, ref.kind, opts);
      if (!resource) return undefined;
      res = await call('GET', at(resource), opts, what);
    }
    if (res.status === 404) return undefined;
    if (res.status >= 400) throw apiFailure(what, res.status, res.body);
    return JSON.parse(res.body) as KubeObject;
  }

  async function list(query: ListQuery, opts?: CallOptions): Promise<KubeObject[]> {
    const what = `listing ${query.kind}${query.namespace ? ` in ${query.namespace}` : ''}`;
    let resource = await resourceFor(query.apiVersion, query.kind, opts);
    if (!resource) return [];
    const qs = query.labelSelector ? `?labelSelector=${encodeURIComponent(query.labelSelector)}` : '';
    let res = await call('GET', collectionPath(query.apiVersion, resource, query.namespace) + qs, opts, what);
    if (noHandler(res)) {
      resource = await rediscover(query.apiVersion, query.kind, opts);
      if (!resource) return [];
      res = await call('GET', collectionPath(query.apiVersion, resource, query.namespace) + qs, opts, what);
    }
    if (res.status === 404) return [];
    if (res.status >= 400) throw apiFailure(what, res.status, res.body);
    const items = (JSON.parse(res.body) as { items?: KubeObject[] }).items ?? [];
    // List items omit apiVersion and kind; put them back so objects look as `kubectl get -o json` prints them.
    return items.map((o) => ({ ...o, apiVersion: query.apiVersion, kind: query.kind }));
  }

  async function apply(objects: readonly KubeObject[], opts?: CallOptions & { fieldManager?: string }): Promise<void> {
    const d = deadline(opts, DEFAULT_APPLY_TIMEOUT_MS, 'applying objects');
    const inner: CallOptions = { signal: d.signal };
    const manager = encodeURIComponent(opts?.fieldManager ?? 'kubedrill');
    try {
      for (const obj of objects) {
        const what = `applying ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
        let resource = await resourceFor(obj.apiVersion, obj.kind, inner);
        // A CRD applied just before is served only once it is Established: wait for discovery.
        while (!resource) {
          await sleep(500, undefined, { signal: d.signal });
          resource = await resourceFor(obj.apiVersion, obj.kind, inner);
        }
        const path = (r: ApiResource) =>
          `${collectionPath(obj.apiVersion, r, obj.metadata.namespace ?? 'default')}/${encodeURIComponent(obj.metadata.name)}?fieldManager=${manager}&force=true`;
        const body = { contentType: 'application/apply-patch+yaml', text: JSON.stringify(obj) };
        let res = await call('PATCH', path(resource), inner, what, body);
        // A kind deleted and made again (a CRD between two mistakes) may have been read from
        // discovery before: its cached scope can be wrong, and its new CRD may not be served yet.
        while (noHandler(res)) {
          await sleep(500, undefined, { signal: d.signal });
          resource = await rediscover(obj.apiVersion, obj.kind, inner);
          if (resource) res = await call('PATCH', path(resource), inner, what, body);
        }
        if (res.status >= 400) throw apiFailure(what, res.status, res.body);
      }
    } catch (err) {
      // Inner calls see only "aborted"; say whether it was the deadline or the caller.
      throw d.signal.aborted ? d.failure(err) : err;
    } finally {
      d.done();
    }
  }

  async function create(obj: KubeObject, opts?: CallOptions): Promise<KubeObject> {
    const what = `creating ${obj.kind}${obj.metadata.name ? ` ${obj.metadata.name}` : ''}`;
    const resource = await resourceFor(obj.apiVersion, obj.kind, opts);
    if (!resource) throw new ClusterError('api', `${what}: the API server does not serve ${obj.kind} in ${obj.apiVersion}`);
    const res = await call('POST', collectionPath(obj.apiVersion, resource, obj.metadata.namespace ?? 'default'), opts, what, {
      contentType: 'application/json',
      text: JSON.stringify(obj),
    });
    if (res.status >= 400) throw apiFailure(what, res.status, res.body);
    return JSON.parse(res.body) as KubeObject;
  }

  async function exec(pod: PodTarget, argv: readonly string[], opts?: CallOptions): Promise<ExecResult> {
    const where = `${pod.namespace}/${pod.name}`;
    const what = `exec in ${where}`;
    const d = deadline(opts, DEFAULT_TIMEOUT_MS, what);
    try {
      let container = pod.container;
      if (!container) {
        // Without a name the API refuses pods with several containers; the port promises "the first".
        const obj = await get({ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name }, { signal: d.signal });
        if (!obj) throw new ClusterError('exec', `${what}: pod ${where} does not exist`, 404);
        const containers = (obj.spec as { containers?: { name: string }[] } | undefined)?.containers ?? [];
        container = containers[0]?.name;
      }
      const params = new URLSearchParams({ stdout: 'true', stderr: 'true', stdin: 'false', tty: 'false' });
      if (container) params.set('container', container);
      for (const a of argv) params.append('command', a);
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/exec?${params.toString()}`;
      return await execOverWebSocket(path, what, d.signal, () => d.failure());
    } catch (err) {
      // Inner calls see only "aborted"; say whether it was the deadline or the caller.
      throw d.signal.aborted ? d.failure(err) : err;
    } finally {
      d.done();
    }
  }

  async function execOverWebSocket(path: string, what: string, signal: AbortSignal, onAbort: () => ClusterError): Promise<ExecResult> {
    const base = await requestOptions();
    const wsUrl = `${server.protocol === 'http:' ? 'ws' : 'wss'}://${server.host}${basePath}${path}`;
    return new Promise<ExecResult>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, CHANNEL_PROTOCOLS, { ...(base as WebSocket.ClientOptions), perMessageDeflate: false });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', abort);
        fn();
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      };
      const abort = () => finish(() => reject(onAbort()));
      signal.addEventListener('abort', abort, { once: true });
      if (signal.aborted) abort();

      ws.on('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          finish(() =>
            reject(
              new ClusterError(
                status === 401 || status === 403 ? 'forbidden' : 'exec',
                `${what}: HTTP ${status}: ${parseStatus(body)?.message ?? body.slice(0, 300)}`,
                status,
              ),
            ),
          );
        });
      });
      ws.on('error', (err) => finish(() => reject(networkFailure(what, err))));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const frame = isBinary ? data : Buffer.from(data.toString('utf8'), 'utf8');
        if (frame.length < 1) return;
        const channel = frame[0];
        const payload = frame.subarray(1);
        if (channel === STREAM.stdout) stdout.push(payload);
        else if (channel === STREAM.stderr) stderr.push(payload);
        else if (channel === STREAM.status && payload.length > 0) {
          const out = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
          const result = exitFromStatus(parseStatus(payload.toString('utf8')));
          if ('exitCode' in result) finish(() => resolve({ ...out, exitCode: result.exitCode }));
          else finish(() => reject(new ClusterError('exec', `${what}: ${result.error}`)));
        }
        // v5 close frames (255) and resize echoes carry nothing a one-shot command needs.
      });
      ws.on('close', (code) => {
        finish(() => reject(new ClusterError('exec', `${what}: the connection closed (code ${code}) before the command reported its exit status`)));
      });
    });
  }

  return { get, list, exec, apply, create };
}

/** Reads the exit code from the V1Status on the status channel, or why the exec itself failed. */
export function exitFromStatus(status: V1Status | undefined): { exitCode: number } | { error: string } {
  if (!status) return { error: 'the status channel carried no readable status' };
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return { exitCode: code };
  }
  return { error: status.message ?? `the command failed (${status.reason ?? 'unknown reason'})` };
}

export { createKubeconfigScriptRunner } from './script-runner.ts';

/** Loads a kubeconfig file into a KubeConfig. */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
