import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import { isLoopback, type Config } from '../config/config.ts';
import { AppError } from '../errors.ts';

/** sha256 CSP sources for the inline scripts of the built index.html (the theme script that runs before first paint). */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
    if (/\ssrc\s*=/i.test(m[1] ?? '')) continue;
    hashes.push(
      `'sha256-${createHash('sha256')
        .update(m[2] ?? '')
        .digest('base64')}'`,
    );
  }
  return hashes;
}

/** The Content-Security-Policy for the app, allowing exactly the given inline-script hashes. */
export function contentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    // No 'unsafe-eval': a lab's instructions are imported as a module from this server
    // (/api/labs/:id/body.js), never evaluated from a string.
    `script-src 'self' ${scriptHashes.join(' ')}`.trimEnd(),
    // React and xterm set style attributes; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    // Same-origin fetch and WebSocket only: page code cannot send a learner's data elsewhere.
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The host names this server answers to: loopback names plus publicUrl's and allowedOrigins' hosts. */
export function allowedHostnames(config: Config): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (!isLoopback(config.host)) names.add(config.host.includes(':') ? `[${config.host}]` : config.host);
  for (const u of [config.publicUrl, ...config.allowedOrigins]) if (u) names.add(new URL(u).hostname);
  return names;
}

function hostnameOf(hostHeader: string): string {
  // "[::1]:3000" → "[::1]", "localhost:3000" → "localhost"
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostHeader.trim().toLowerCase());
  return m?.[1] ?? '';
}

/**
 * Security headers on every response, and in single-user mode a Host check: that mode logs anyone
 * in who reaches it, so a web page whose DNS name was re-pointed at 127.0.0.1 (DNS rebinding) must
 * not get answers from it.
 */
export const hardening = fp<{ webDir: string }>(async (app, opts) => {
  const config = app.config;
  let hashes: string[] = [];
  try {
    hashes = inlineScriptHashes(readFileSync(path.join(opts.webDir, 'index.html'), 'utf8'));
  } catch {
    // No built web app: no inline script to allow.
  }
  const csp = contentSecurityPolicy(hashes);
  const https = config.publicUrl?.startsWith('https:') ?? false;
  const hostnames = allowedHostnames(config);

  app.addHook('onRequest', async (req) => {
    if (config.auth.mode !== 'single') return;
    // A browser always sends Host (so a rebound page does too); a request without one is no browser's.
    if (req.headers.host === undefined) return;
    const host = hostnameOf(req.headers.host);
    if (!hostnames.has(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
      throw new AppError(
        403,
        'host_not_allowed',
        `this single-user server answers only to localhost, not to host "${host}"; add the name to publicUrl or allowedOrigins if you really reach it that way`,
      );
    }
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', csp);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
    if (https) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });
});
