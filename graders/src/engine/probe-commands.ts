// The commands a probe runs inside the source pod, and how their output is read. Pods run busybox
// (Debian's build: its nc has no -z and no -u), so:
// - http: `wget --spider -S -T 1 URL` — exit 0, or "server returned error: HTTP/1.1 404" (an HTTP
//   answer is a working connection); -S prints the status line of every response, so a check can
//   also ask for a status (the last one counts: busybox follows redirects);
// - tcp: `nc -w 1 HOST PORT </dev/null` under `timeout 3` — -w bounds the connect; with stdin at EOF
//   nc half-closes and exits when the server closes; if the server keeps the connection open,
//   `timeout` ends it, which still means it connected;
// - udp: there is no generic UDP client, and UDP needs a reply to prove anything, so only DNS
//   (port 53) can be probed, by asking that server for a name with nslookup.
// Each try opens a fresh connection: kindnet judges only new connections.

/** What one try saw. */
export type ProbeOutcome =
  | { kind: 'connected'; detail: string; httpStatus?: number }
  | { kind: 'refused'; detail: string }
  | { kind: 'timeout'; detail: string }
  | { kind: 'dns'; detail: string }
  | { kind: 'unknown'; detail: string };

export type ProbeProtocol = 'http' | 'tcp' | 'udp';

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The argv that probes host:port from inside a pod. */
export function probeArgv(protocol: ProbeProtocol, host: string, port: number, path = '/'): string[] {
  switch (protocol) {
    case 'http':
      return ['wget', '--spider', '-S', '-T', '1', `http://${hostForUrl(host)}:${port}${path}`];
    case 'tcp':
      return ['sh', '-c', 'timeout 3 nc -w 1 "$1" "$2" </dev/null', 'probe', host, String(port)];
    case 'udp':
      return ['nslookup', 'kubernetes.default.svc.cluster.local', port === 53 ? host : `${host}:${port}`];
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? ''
  );
}

/** Reads the result of probeArgv. */
export function classifyProbe(protocol: ProbeProtocol, exitCode: number, stdout: string, stderr: string): ProbeOutcome {
  const text = `${stderr}\n${stdout}`;
  const line = firstLine(stderr) || firstLine(stdout);
  if (/not found|can't execute|executable file not found/i.test(text) && exitCode === 127)
    return { kind: 'unknown', detail: `the probe tool is missing in the pod: ${line}` };
  if (protocol === 'udp') {
    if (/no servers could be reached|timed out/i.test(text)) return { kind: 'timeout', detail: 'no DNS answer (timed out)' };
    if (/refused/i.test(text)) return { kind: 'refused', detail: 'port unreachable (refused)' };
    if (/^Name:/m.test(stdout) || /NXDOMAIN|can't find/i.test(text)) return { kind: 'connected', detail: 'the DNS server answered' };
    return { kind: 'unknown', detail: line || `exit code ${exitCode}` };
  }
  if (protocol === 'http') {
    // The last status line is the final answer (after redirects).
    const statuses = [...text.matchAll(/HTTP\/\d(?:\.\d)? (\d{3})([^\n]*)/g)];
    const last = statuses.at(-1);
    const httpStatus = last ? Number(last[1]) : undefined;
    const detail = last ? `HTTP ${last[1]}${last[2]?.trimEnd() ?? ''}` : undefined;
    if (exitCode === 0) return { kind: 'connected', detail: detail ?? 'HTTP answer', ...(httpStatus ? { httpStatus } : {}) };
    if (/server returned error/i.test(text) || last) return { kind: 'connected', detail: detail ?? 'HTTP error answer', ...(httpStatus ? { httpStatus } : {}) };
  } else if (exitCode === 0) return { kind: 'connected', detail: 'connected' };
  // busybox `timeout` ends a connected nc with SIGTERM (exit 143; 124 in coreutils' timeout).
  if (protocol === 'tcp' && (exitCode === 143 || exitCode === 124)) return { kind: 'connected', detail: 'connected (the server kept the connection open)' };
  if (/refused/i.test(text)) return { kind: 'refused', detail: 'connection refused' };
  if (/bad address|unknown host|Name does not resolve|can't resolve/i.test(text)) return { kind: 'dns', detail: line };
  if (/timed out|timeout|no route to host|network is unreachable|host is unreachable/i.test(text)) return { kind: 'timeout', detail: 'timed out' };
  return { kind: 'unknown', detail: line || `exit code ${exitCode}` };
}

/** resolv.conf settings that decide which names nslookup must be asked for. */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
}

/** Parses /etc/resolv.conf. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], ndots: 1 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) conf.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') conf.search = rest;
    else if (key === 'options') {
      for (const opt of rest) {
        const m = opt.match(/^ndots:(\d+)$/);
        if (m) conf.ndots = Number(m[1]);
      }
    }
  }
  return conf;
}

/**
 * The names a resolver tries for `name`, in order (glibc/musl rules): absolute names as written;
 * names with at least ndots dots first as written, then with each search domain; others the reverse.
 * busybox nslookup skips the search list, so the grader asks for each candidate itself.
 */
export function dnsCandidates(name: string, conf: ResolvConf): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const expanded = conf.search.map((s) => `${name}.${s}`);
  const dots = name.split('.').length - 1;
  // A name already inside a search domain (orders.backend.svc.cluster.local) cannot gain anything
  // from expansion, so ask for it first and save the lookups that would all say NXDOMAIN.
  if (dots >= conf.ndots || conf.search.some((s) => name.endsWith(`.${s}`))) return [name, ...expanded];
  return [...expanded, name];
}

/** The addresses busybox nslookup printed for the queried name (not the server's own address). */
export function parseNslookup(stdout: string): string[] {
  const addresses: string[] = [];
  let inAnswer = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (/^Name:/.test(line)) inAnswer = true;
    else if (inAnswer) {
      const m = line.match(/^Address(?:\s+\d+)?:\s*(\S+)/);
      if (m?.[1]) addresses.push(m[1]);
    }
  }
  return [...new Set(addresses)];
}

/** Whether an HTTP status satisfies a check's httpStatus (an exact code or a class like "2xx"). */
export function statusMatches(want: number | string, got: number | undefined): boolean {
  if (got === undefined) return false;
  return typeof want === 'number' ? got === want : String(got)[0] === want[0];
}
