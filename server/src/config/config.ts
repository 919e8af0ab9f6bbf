import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { minimalEnv } from '../exec/command-runner.ts';
import { shapeFromKey, shapeKey } from '../provisioner/kind-config.ts';
import { valueAt } from '../../../graders/src/shared/object-path.ts';

// One typed, validated configuration, read once at boot. Sources, strongest first:
// command-line flags > KUBEDRILL_* environment variables > config file > defaults.
// Nothing else in the server reads process.env.

const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);

/** The configuration schema; every leaf can also be set by env var and flag (see configKeys). */
export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
    port: port.default(3000).describe('TCP port to listen on'),
    publicUrl: z.url().optional().describe('URL learners use to reach the server (origin allowlist, secure cookies)'),
    allowedOrigins: z.array(z.url()).default([]).describe('extra browser origins allowed to call the API and open terminals'),
    trustProxy: z
      .string()
      .regex(/^(\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/, 'comma-separated proxy addresses/CIDRs (e.g. 127.0.0.1,10.0.0.0/8) or a hop count')
      .optional()
      .describe(
        'reverse proxies whose X-Forwarded-For is believed: their addresses/CIDRs, comma-separated, or a hop count; unset = none (req.ip is the TCP peer)',
      ),
    dataDir: z.string().min(1).default('data').describe('folder for the database and caches'),
    labsDir: z.string().min(1).default('labs').describe('folder holding the labs'),
    scenariosDir: z
      .string()
      .min(1)
      .optional()
      .describe('folder of Killercoda scenarios (index.json folders, structure.json courses) shown as their own tracks beside the labs'),
    examsDir: z.string().min(1).default('exams').describe('folder holding the mock exams (exams/<id>/exam.yaml)'),
    webDir: z.string().min(1).default('web/dist').describe('folder with the built web app'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    auth: z
      .object({
        mode: z.enum(['single', 'multi']).default('single').describe('single: one learner on their own machine; multi: accounts for a study group'),
        registration: z.enum(['open', 'invite', 'closed']).default('invite').describe('who may create an account in multi mode'),
        inviteCode: z.string().min(8).optional().describe('code needed to register when registration is "invite"'),
        sessionDays: positiveInt.max(365).default(14),
      })
      .strict()
      .default({ mode: 'single', registration: 'invite', sessionDays: 14 }),
    clusters: z
      .object({
        maxConcurrent: positiveInt.default(4).describe('clusters that may exist at once on this host'),
        perLearner: positiveInt.default(1).describe('running attempts per learner'),
        attemptMinutes: positiveInt.default(120).describe('an attempt expires after this long'),
        idleMinutes: positiveInt.default(30).describe('an attempt with no activity for this long is finished'),
        poolSize: nonNegativeInt.max(20).default(0).describe('warm clusters kept ready per cluster shape'),
        poolShapes: z
          .array(
            z
              .string()
              .regex(/^w[0-3](-nocni)?(-netpol)?(\+[a-z0-9-]+)*(:\d{1,2})?$/, 'a shape key such as w0, w1-netpol:2, w2-nocni or w0+metrics-server')
              .superRefine((entry, ctx) => {
                try {
                  shapeFromKey(entry.split(':')[0]!);
                } catch (e) {
                  ctx.addIssue({ code: 'custom', message: (e as Error).message });
                }
              })
              // add-ons in the order shapeKey() writes them, so "w0+metallb+gateway-api" finds the labs' shape
              .transform((entry) => {
                const [key, count] = entry.split(':');
                const canonical = shapeKey(shapeFromKey(key!));
                return count === undefined ? canonical : `${canonical}:${count}`;
              }),
          )
          .default([])
          .describe('shapes to keep warm, each w<workers>[-nocni][-netpol][+<add-on>…][:count] (count defaults to poolSize); empty = every shape a lab uses'),
        presetLabs: z
          .array(
            z
              .string()
              .regex(
                /^(exam:)?[a-z0-9][a-z0-9-]*(:\d{1,2})?$/,
                'a lab id or exam:<exam id>, optionally with :count, such as netpol-lab9server:2 or exam:networking-mock',
              ),
          )
          .default([])
          .describe(
            'labs (and exam:<id>) whose clusters are kept with the setup already applied, each <id>[:count] (count defaults to 1); Start of such a lab only assigns the cluster',
          ),
        presetRecent: nonNegativeInt
          .max(20)
          .default(0)
          .describe('also keep one pre-set-up cluster for each of this many labs or exams started most recently (demand)'),
        nodeImage: z.string().min(1).optional().describe("kind node image (default: the pinned image for the lab's Kubernetes version)"),
        namePrefix: z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,20}$/, 'a lowercase letter, then at most 20 lowercase letters, digits or "-"')
          .default('kubedrill')
          .describe('prefix of the kind clusters this server owns'),
        registryMirror: z.url().optional().describe('pull-through registry mirror for docker.io and registry.k8s.io'),
        createTimeoutMinutes: positiveInt.max(60).default(10).describe('kind create (and waiting for every node) must finish within this'),
        setupTimeoutMinutes: positiveInt.max(60).default(5).describe("applying a lab's setup and waiting for it to be ready must finish within this"),
      })
      .strict()
      .default({
        maxConcurrent: 4,
        perLearner: 1,
        attemptMinutes: 120,
        idleMinutes: 30,
        poolSize: 0,
        poolShapes: [],
        presetLabs: [],
        presetRecent: 0,
        namePrefix: 'kubedrill',
        createTimeoutMinutes: 10,
        setupTimeoutMinutes: 5,
      }),
    terminal: z
      .object({
        mode: z
          .enum(['auto', 'container', 'host'])
          .default('auto')
          .describe('where shells run: container (a workstation container per attempt), host (on this server; single-user only), auto = container'),
        workstationImage: z
          .string()
          .min(1)
          .default('kubedrill/workstation:{minor}')
          .describe("workstation image; {minor} becomes the cluster's Kubernetes minor version"),
        network: z.string().min(1).default('kind').describe('docker network of the kind clusters; workstations join it'),
        idleMinutes: positiveInt.default(30).describe('a terminal with no browser attached for this long is closed'),
        maxPerAttempt: positiveInt.max(20).default(6).describe('terminals (tabs) per attempt'),
        replayKiB: z.number().int().min(256).max(65536).default(2048).describe('recent output kept per terminal for lossless reattach'),
        ticketSeconds: positiveInt.max(300).default(30).describe('lifetime of a terminal connection ticket'),
        upgradesPerMinute: positiveInt.default(60).describe('terminal connections per minute per learner and per IP'),
      })
      .strict()
      .default({
        mode: 'auto',
        workstationImage: 'kubedrill/workstation:{minor}',
        network: 'kind',
        idleMinutes: 30,
        maxPerAttempt: 6,
        replayKiB: 2048,
        ticketSeconds: 30,
        upgradesPerMinute: 60,
      }),
    exams: z
      .object({
        reviewMinutes: nonNegativeInt.max(240).default(30).describe('after an exam is graded its clusters stay this long for review and Re-grade'),
      })
      .strict()
      .default({ reviewMinutes: 30 }),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** The host facts the server needs besides config: the environment external programs inherit. */
export interface BootInfo {
  config: Config;
  /** PATH/HOME/locale only; handed to the command runner. */
  hostEnv: Record<string, string>;
  /** Where each configured value came from, for the start-up log. */
  sources: Record<string, 'default' | 'file' | 'env' | 'flag'>;
  /** KUBEDRILL_* variables that match no key (probably typos). */
  unknownEnv: string[];
}

/** A config problem that stops start-up; its message is one line naming key, value and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Leaf = { path: string[]; schema: z.ZodType };

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

function leaves(schema: z.ZodType, prefix: string[] = []): Leaf[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leaves(v, [...prefix, k]));
  }
  return [{ path: prefix, schema: s }];
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Every settable key with its env var and flag names, e.g. clusters.maxConcurrent ↔ KUBEDRILL_CLUSTERS_MAX_CONCURRENT ↔ --clusters.max-concurrent. */
export function configKeys(): { key: string; env: string; flag: string; schema: z.ZodType }[] {
  return leaves(ConfigSchema).map((l) => ({
    key: l.path.join('.'),
    env: `KUBEDRILL_${l.path.map(snake).join('_')}`,
    flag: `--${l.path.map(kebab).join('.')}`,
    schema: l.schema,
  }));
}

// Variables read by the wrapper scripts, not by the server.
const SCRIPT_ENV = new Set(['KUBEDRILL_CONFIG', 'KUBEDRILL_ROOT', 'KUBEDRILL_FORCE_BUNDLED_NODE', 'KUBEDRILL_TESTBED_CACHE', 'KUBEDRILL_SKIP_WEB_BUILD']);

function coerce(raw: string, schema: z.ZodType): unknown {
  if (schema instanceof z.ZodNumber) return raw.trim() === '' ? raw : Number(raw);
  if (schema instanceof z.ZodBoolean) {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (schema instanceof z.ZodArray)
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return raw;
}

function setPath(target: Record<string, unknown>, p: string[], value: unknown) {
  let node = target;
  for (const part of p.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[p[p.length - 1]!] = value;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b)
        ? mergeDeep(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

function describeAllowed(schema: z.ZodType): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodEnum) return `one of ${s.options.join(', ')}`;
  if (s instanceof z.ZodNumber) {
    const lo = s.minValue;
    const hi = s.maxValue;
    const kind = s.format === 'safeint' || s.isInt ? 'an integer' : 'a number';
    if (lo !== null && lo !== undefined && hi !== null && hi !== undefined && Number.isFinite(hi) && hi < Number.MAX_SAFE_INTEGER)
      return `${kind} from ${lo} to ${hi}`;
    if (lo !== null && lo !== undefined && Number.isFinite(lo) && lo > Number.MIN_SAFE_INTEGER) return `${kind} ≥ ${lo}`;
    return kind;
  }
  if (s instanceof z.ZodBoolean) return 'true or false';
  if (s instanceof z.ZodArray) return 'a comma-separated list';
  if (s instanceof z.ZodURL) return 'a URL such as https://kubedrill.example.org';
  return s.description ?? 'see README "Configuration"';
}

export interface ConfigInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory relative paths are resolved against. */
  cwd: string;
}

/** Reads flags, env and the optional config file into one validated Config, or throws ConfigError. */
export function loadConfig({ argv, env, cwd }: ConfigInputs): BootInfo {
  const keys = configKeys();
  const sources: BootInfo['sources'] = {};
  const origin = new Map<string, string>(); // key → human description of where its raw value came from
  const rawText = new Map<string, string>(); // key → the text given on the command line or in env

  // Flags: --key=value or --key value; --config <file>.
  const flagValues: Record<string, unknown> = {};
  let configFile = env.KUBEDRILL_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}": flags look like --port=3000 (see --help)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`flag ${name} needs a value`);
    if (name === '--config') {
      configFile = value;
      continue;
    }
    const k = keys.find((x) => x.flag === name);
    if (!k) throw new ConfigError(`unknown flag ${name}; known flags: --config, ${keys.map((x) => x.flag).join(', ')}`);
    setPath(flagValues, k.key.split('.'), coerce(value, k.schema));
    sources[k.key] = 'flag';
    rawText.set(k.key, value);
    origin.set(k.key, `flag ${name}`);
  }

  const envValues: Record<string, unknown> = {};
  const unknownEnv: string[] = [];
  const envNames = new Set(keys.map((k) => k.env));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('KUBEDRILL_') || value === undefined) continue;
    if (!envNames.has(name)) {
      if (!SCRIPT_ENV.has(name)) unknownEnv.push(name);
      continue;
    }
    const k = keys.find((x) => x.env === name)!;
    setPath(envValues, k.key.split('.'), coerce(value, k.schema));
    sources[k.key] ??= 'env';
    if (!origin.has(k.key)) {
      origin.set(k.key, `env ${name}`);
      rawText.set(k.key, value);
    }
  }

  let fileValues: Record<string, unknown> = {};
  if (configFile) {
    const file = path.resolve(cwd, configFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text); // YAML is a superset of JSON, so both work
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a mapping of keys to values`);
      fileValues = parsed as Record<string, unknown>;
    }
    for (const k of keys) {
      if (valueAt(fileValues, k.key.split('.')) !== undefined) {
        sources[k.key] ??= 'file';
        if (!origin.has(k.key)) origin.set(k.key, `config file ${configFile}`);
      }
    }
  }

  const merged = mergeDeep(mergeDeep(fileValues, envValues), flagValues);
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `${issue.path.join('.')}.` : '';
      throw new ConfigError(
        `unknown config key ${issue.keys.map((k) => where + k).join(', ')} in ${configFile ?? 'config'}; known keys: ${keys.map((k) => k.key).join(', ')}`,
      );
    }
    const key = issue.path.join('.');
    const value = rawText.get(key) ?? valueAt(merged, issue.path);
    const leaf = keys.find((k) => k.key === key);
    // A pattern's own message says what it wants; the key's type alone would not.
    const allowed = issue.code === 'invalid_format' && issue.format === 'regex' ? issue.message : leaf ? describeAllowed(leaf.schema) : issue.message;
    const from = origin.get(key);
    throw new ConfigError(`invalid config ${key} = ${JSON.stringify(value)}${from ? ` (from ${from})` : ''}: expected ${allowed}`);
  }
  const config = result.data;
  for (const k of keys) sources[k.key] ??= 'default';

  if (config.auth.mode === 'single' && !isLoopback(config.host)) {
    throw new ConfigError(
      `invalid config host = "${config.host}" with auth.mode = "single": single-user mode only listens on a loopback address (127.0.0.1, ::1, localhost); set auth.mode=multi to serve a study group`,
    );
  }
  if (config.auth.mode === 'multi' && config.auth.registration === 'invite' && !config.auth.inviteCode) {
    throw new ConfigError(
      `invalid config auth.inviteCode = undefined: auth.registration = "invite" needs an invite code of at least 8 characters (or set auth.registration=open|closed)`,
    );
  }
  if (config.terminal.mode === 'host' && config.auth.mode === 'multi') {
    throw new ConfigError(
      `invalid config terminal.mode = "host" with auth.mode = "multi": host mode gives shells on this server, which only one learner on their own machine may have; use terminal.mode=container`,
    );
  }
  config.dataDir = path.resolve(cwd, config.dataDir);
  config.labsDir = path.resolve(cwd, config.labsDir);
  config.examsDir = path.resolve(cwd, config.examsDir);
  if (config.scenariosDir !== undefined) config.scenariosDir = path.resolve(cwd, config.scenariosDir);
  config.webDir = path.resolve(cwd, config.webDir);

  return { config, hostEnv: minimalEnv(env), sources, unknownEnv };
}

/** Fastify's trustProxy option for the trustProxy key: a hop count, a list of addresses/CIDRs, or false. */
export function trustProxyOption(value: string | undefined): ((address: string, hop: number) => boolean) | string[] | false {
  if (value === undefined) return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The origins browsers may send requests from: the public URL, the listen address, and extras. */
export function allowedOrigins(config: Config): string[] {
  const set = new Set<string>(config.allowedOrigins.map((o) => new URL(o).origin));
  if (config.publicUrl) set.add(new URL(config.publicUrl).origin);
  const hosts = isLoopback(config.host) ? ['127.0.0.1', 'localhost', '[::1]'] : [config.host.includes(':') ? `[${config.host}]` : config.host];
  for (const h of hosts) set.add(`http://${h}:${config.port}`);
  return [...set];
}

/** The --help text listing every key with its env var and flag. */
export function configHelp(): string {
  const rows = configKeys().map((k) => `  ${k.flag.padEnd(34)} ${k.env.padEnd(40)} ${describeAllowed(k.schema)}`);
  return [
    'Usage: npm start -- [--config file.yaml] [--key=value ...]',
    '',
    '  flag                               environment variable                     allowed',
    ...rows,
  ].join('\n');
}
