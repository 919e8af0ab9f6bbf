// The Docker API of a Docker daemon that runs in a Pod (an attempt host, issue 16), served on a
// local unix socket: with DOCKER_HOST=unix://<socket>, `docker` and `kind` on this machine drive the
// Pod's daemon unchanged. Each connection is one `docker system dial-stdio` in the Pod through the
// Kubernetes exec API, so nothing needs a route into pod IPs and access is the exec RBAC on that Pod.
//
// Why not a port-forward to a TCP socket: docker's attach/exec streams rely on TCP half-close (the
// client ends stdin, then reads the output and the exit code), and a port-forward closes the whole
// stream at the client's end of input — `docker exec c sh -c 'sleep 2; echo late'` then printed
// nothing and exited 0, and `kind create` failed installing the CNI. Over exec, the end of stdin is
// carried as its own signal (v5.channel.k8s.io), which dial-stdio turns into a half-close.
import net from 'node:net';
import { rmSync } from 'node:fs';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { Exec, PortForward, type KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../../../graders/src/shared/error-message.ts';

/** Where the Docker daemon runs: a container of a Pod. */
export interface PodContainer {
  namespace: string;
  pod: string;
  container: string;
}

/**
 * Opens one byte stream to the Pod's Docker socket: `stdin` goes to the daemon (its end is a
 * half-close), the daemon's bytes go to `stdout`, and `done` is called once when the stream is over
 * (with why, when it failed). Resolves with a function that tears the stream down.
 */
export type DialDocker = (stdin: Readable, stdout: Writable, done: (error?: string) => void) => Promise<() => void>;

/** DialDocker through the Kubernetes exec API (client-node), running `docker system dial-stdio`. */
export function execDialDocker(kubeConfig: KubeConfig, target: PodContainer): DialDocker {
  const exec = new Exec(kubeConfig);
  return async (stdin, stdout, done) => {
    let stderr = '';
    const errors = new Writable({
      write(chunk: Buffer, _enc, cb) {
        stderr = (stderr + chunk.toString()).slice(-2000);
        cb();
      },
    });
    let finished = false;
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      done(error);
    };
    const ws = await exec.exec(target.namespace, target.pod, target.container, ['docker', 'system', 'dial-stdio'], stdout, errors, stdin, false, (status) => {
      if (status.status === 'Success') finish();
      else
        finish(
          `docker system dial-stdio in ${target.namespace}/${target.pod}: ${status.message ?? status.reason ?? 'failed'}${stderr ? `: ${stderr.trim()}` : ''}`,
        );
    });
    ws.on('close', () => finish(stderr.trim() ? `the exec stream closed: ${stderr.trim()}` : undefined));
    ws.on('error', (e) => finish(`the exec stream failed: ${errorMessage(e)}`));
    return () => ws.close();
  };
}

export interface PodDockerSocket {
  /** DOCKER_HOST for docker and kind on this machine. */
  dockerHost: string;
  close(): Promise<void>;
}

/**
 * Serves `dial` on a unix socket at `socketPath` (replacing a stale one). Every client connection
 * gets its own stream; a client that ends its input keeps receiving until the daemon is done.
 */
export async function servePodDocker(socketPath: string, dial: DialDocker, log: (line: string) => void = () => {}): Promise<PodDockerSocket> {
  rmSync(socketPath, { force: true });
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    open.add(conn);
    const stdin = new PassThrough();
    conn.pipe(stdin);
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (conn.destroyed) cb();
        else conn.write(chunk, () => cb());
      },
      final(cb) {
        conn.end();
        cb();
      },
    });
    let teardown: (() => void) | undefined;
    let over = false;
    const done = (error?: string) => {
      if (over) return;
      over = true;
      if (error) {
        log(`pod docker: ${error}`);
        conn.destroy();
      } else stdout.end(); // after what is still being written: its final() ends the connection
    };
    conn.on('error', () => conn.destroy());
    conn.on('close', () => {
      open.delete(conn);
      teardown?.();
    });
    dial(stdin, stdout, done).then(
      (t) => {
        teardown = t;
        if (conn.destroyed) t();
      },
      (e: unknown) => done(`could not open a stream to the Pod's Docker: ${errorMessage(e)}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    dockerHost: `unix://${socketPath}`,
    close: async () => {
      for (const c of open) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}

export interface PodPortForward {
  /** The local port on 127.0.0.1 that reaches the Pod's port. */
  port: number;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:<ephemeral port> here to `remotePort` on the Pod's loopback, through the
 * Kubernetes port-forward API: how the grader reaches the API server of a kind cluster inside an
 * attempt host Pod (kind publishes it on the Pod's 127.0.0.1). Fine for HTTPS; not for Docker's own
 * streams, which need a half-close a port-forward does not carry (see above).
 */
export async function forwardPodPort(
  kubeConfig: KubeConfig,
  target: Omit<PodContainer, 'container'>,
  remotePort: number,
  log: (line: string) => void = () => {},
): Promise<PodPortForward> {
  const forward = new PortForward(kubeConfig, true);
  const open = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    open.add(conn);
    conn.on('error', () => conn.destroy());
    const errors = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const text = chunk.toString().trim();
        if (text) log(`port-forward to ${target.namespace}/${target.pod}:${remotePort}: ${text}`);
        cb();
      },
    });
    forward.portForward(target.namespace, target.pod, [remotePort], conn, errors, conn).then(
      (ws) => {
        const socket = typeof ws === 'function' ? ws() : ws;
        if (!socket) return conn.destroy();
        socket.on('close', () => conn.end());
        conn.on('close', () => {
          open.delete(conn);
          socket.close();
        });
      },
      (e: unknown) => {
        log(`port-forward to ${target.namespace}/${target.pod}:${remotePort}: ${errorMessage(e)}`);
        conn.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const c of open) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
