// A learner's way through a running kubedrill server's HTTP API, as the browser takes it: Start a lab,
// wait until it is ready, run a command in the workstation over the terminal WebSocket. Used by
// bench:cluster-size and the server image's cluster suite.
import WebSocket from 'ws';
import { WireClient } from '../../server/src/terminal/wire-client.ts';

/** What the API says of an attempt (the fields these tools read). */
export interface AttemptView {
  id: string;
  status: string;
  shape: string;
  clusterName: string | null;
  createdAt: string;
  readyAt: string | null;
  failure: { step: string | null; message: string } | null;
}

const ENDED = ['ready', 'failed', 'expired', 'finished'];

/** A session on a server at `base` (single mode hands one out; pass a cookie for multi mode). */
export class ServerClient {
  readonly base: string;
  readonly cookie: string;
  constructor(base: string, cookie: string) {
    this.base = base;
    this.cookie = cookie;
  }

  /** Single mode: the local session the server hands to whoever reaches it on loopback. */
  static async single(url: string): Promise<ServerClient> {
    const base = url.replace(/\/$/, '');
    const session = await fetch(`${base}/api/session`, { signal: AbortSignal.timeout(10_000) });
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (!cookie) throw new Error(`${base} handed out no session: this needs a single-mode server`);
    return new ServerClient(base, cookie);
  }

  /** One API call with the session (and the server's own Origin); a non-2xx answer throws with its body. */
  async call<T>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { cookie: this.cookie, origin: this.base, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Starts the lab and polls until its attempt is ready or has ended (within timeoutMs). */
  async startLab(labId: string, timeoutMs = 15 * 60_000): Promise<AttemptView> {
    let attempt = await this.call<AttemptView>('POST', '/api/attempts', { labId });
    const deadline = Date.now() + timeoutMs;
    while (!ENDED.includes(attempt.status)) {
      if (Date.now() > deadline) throw new Error(`${labId}: attempt ${attempt.id} still ${attempt.status} after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 2000));
      attempt = await this.call<AttemptView>('GET', `/api/attempts/${attempt.id}`);
    }
    return attempt;
  }

  /** Runs `kubectl get nodes` in a new workstation terminal of the attempt; resolves with the Ready count. */
  async workstationReadyNodes(attemptId: string): Promise<number> {
    const terminal = await this.call<{ id: string }>('POST', `/api/attempts/${attemptId}/terminals`, { kind: 'shell' });
    const ticket = await this.call<{ protocols: string[]; path: string }>('POST', `/api/attempts/${attemptId}/terminals/${terminal.id}/tickets`, {});
    const ws = new WebSocket(`${this.base.replace(/^http/, 'ws')}${ticket.path}`, ticket.protocols, { headers: { origin: this.base, cookie: this.cookie } });
    const client = new WireClient((f) => ws.send(f), { autoAck: true });
    ws.on('message', (d: Buffer) => client.receive(d));
    try {
      await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
      client.attach(0, 160, 40);
      await client.waitForText('candidate@', 60_000);
      client.input("kubectl get nodes --no-headers | grep -c ' Ready '; echo NODES''DONE\r");
      await client.waitForText(/(\d+)\s+NODESDONE/, 60_000);
      return Number(/(\d+)\s+NODESDONE/.exec(client.text())?.[1]);
    } finally {
      ws.close();
    }
  }
}
