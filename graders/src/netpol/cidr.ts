// IPv4/IPv6 addresses and CIDR blocks for NetworkPolicy ipBlock peers.

interface Parsed {
  v6: boolean;
  value: bigint;
}

function parseV4(ip: string): bigint | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(ip: string): bigint | undefined {
  let text = ip;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    text = `${text.slice(0, lastColon + 1)}0:0`;
    tail = tail.length ? tail : [];
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail.length === 2) v = (v & ~0xffffffffn) | ((tail[0] ?? 0n) << 16n) | (tail[1] ?? 0n);
  return v;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(ip: string): Parsed | undefined {
  const v4 = parseV4(ip);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = ip.includes(':') ? parseV6(ip) : undefined;
  return v6 === undefined ? undefined : { v6: true, value: v6 };
}

/** A compiled CIDR test: cidrContains("10.0.0.0/8")("10.1.2.3") === true. */
export function compileCidr(cidr: string): (ip: string) => boolean {
  const [addr = '', bitsText] = cidr.split('/');
  const base = parseIp(addr);
  if (!base) return () => false;
  const width = base.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return () => false;
  const shift = BigInt(width - bits);
  const prefix = base.value >> shift;
  return (ip) => {
    const p = parseIp(ip);
    return p !== undefined && p.v6 === base.v6 && p.value >> shift === prefix;
  };
}
