// The log the services write to, in pino's call shape: a message that stays the same for every
// occurrence, and the data as fields (`log.warn({ attemptId, step }, 'attempt failed')`), so logs
// can be filtered by attempt or cluster instead of parsed back out of sentences.

/** Data a log line carries beside its fixed message (pino's merge object). */
export type LogFields = Record<string, unknown>;

/** A service's logger: the app passes its Fastify (pino) logger, tests a silent one, command-line tools logLine(). */
export interface ServiceLog {
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}

/** One readable line for a log call, for command-line tools that print instead of logging JSON: `message key=value …`. */
export function logLine(fields: LogFields, msg: string): string {
  const pairs = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`);
  return pairs.length ? `${msg} ${pairs.join(' ')}` : msg;
}
