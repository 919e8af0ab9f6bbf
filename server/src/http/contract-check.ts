import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { STATUS_CODES } from '../api-contract.ts';

/** What a route declared it may answer: a zod schema per status ("404", "4XX", "default"). */
type Responses = Record<string, ZodType | undefined>;

function declared(responses: Responses | undefined, status: number): ZodType | undefined {
  return responses?.[String(status)] ?? responses?.[`${String(status)[0]}XX`] ?? responses?.['default'];
}

/** Why an answer breaks its route's contract, or undefined when it keeps it. */
export function contractViolation(responses: Responses | undefined, status: number, contentType: string, payload: unknown): string | undefined {
  const schema = declared(responses, status);
  if (!schema) return `answered ${status}, which its schema does not declare (declared: ${Object.keys(responses ?? {}).join(', ') || 'nothing'})`;
  // A 204 has no body whatever was passed to send(); Fastify drops it.
  if (status === 204 || typeof payload !== 'string') return undefined;
  let body: unknown = payload;
  if (contentType.includes('json')) {
    try {
      body = JSON.parse(payload);
    } catch {
      return `answered ${status} with a body that is not JSON`;
    }
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) {
    // Statuses with one meaning have one code: a client handles every rate limit the same way.
    const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
    if (status === 429 && code !== STATUS_CODES[429]) return `answered 429 with code ${String(code)}; every 429 is ${STATUS_CODES[429]}`;
    return undefined;
  }
  const issue = parsed.error.issues[0];
  return `answered ${status} with a body its schema refuses: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`;
}

/**
 * onSend hook (tests turn it on): every answer of an API route must be declared by the route's
 * response schema for that status, and match it. A violation becomes a 500 `contract_violation`
 * that names the route, so any test that looks at the status or body of the answer fails.
 */
export async function contractCheck(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const route = req.routeOptions;
  if (!route.url?.startsWith('/api/') || route.schema?.hide) return payload;
  const why = contractViolation(route.schema?.response as Responses | undefined, reply.statusCode, String(reply.getHeader('content-type') ?? ''), payload);
  if (!why) return payload;
  const message = `${req.method} ${route.url} ${why}`;
  req.log.error({ route: route.url, status: reply.statusCode }, message);
  reply.code(500).type('application/json; charset=utf-8');
  return JSON.stringify({ error: { code: 'contract_violation', message } });
}
