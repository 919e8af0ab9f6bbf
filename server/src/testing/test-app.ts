// Shared by route tests: builds the real app around an in-memory database and a labs folder.
import path from 'node:path';
import { readdirSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../app.ts';
import type { App } from '../app-types.ts';
import { loadConfig } from '../config/config.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import { openMemoryDatabase } from '../storage/db.ts';

/** The loader's fixture labs: one good lab, one with a warning, and one broken lab per mistake. */
export const FIXTURE_LABS = path.resolve(import.meta.dirname, '..', 'labs', 'test-fixtures', 'labs');
/** Every fixture under broken/ must be listed as broken, one entry per folder. */
export const BROKEN_FIXTURES = readdirSync(path.join(FIXTURE_LABS, 'broken'), { withFileTypes: true }).filter((d) => d.isDirectory()).length;

const catalogs = new Map<string, Promise<LabCatalog>>();

/** A loaded catalog per folder, shared across tests in one file (loading compiles MDX). */
export function loadedCatalog(labsDir = FIXTURE_LABS): Promise<LabCatalog> {
  let c = catalogs.get(labsDir);
  if (!c) {
    const catalog = new LabCatalog(labsDir);
    c = catalog.reload().then(() => catalog);
    catalogs.set(labsDir, c);
  }
  return c;
}

/** Builds the app with config flags (e.g. ['--auth.mode', 'multi']), no logger and a fresh in-memory db. */
export async function testApp(argv: string[] = [], labsDir = FIXTURE_LABS, opts: { now?: () => number } = {}): Promise<App> {
  const boot = loadConfig({
    argv: ['--data-dir', '/nonexistent/kubedrill-test', '--web-dir', '/nonexistent/kubedrill-web', ...argv],
    env: {},
    cwd: process.cwd(),
  });
  return buildApp(boot, {
    checkResponses: true,
    db: openMemoryDatabase(),
    labs: await loadedCatalog(labsDir),
    logger: false,
    ...(opts.now ? { now: opts.now } : {}),
  });
}

/** The kd_session cookie a response set, as a Cookie header value. */
export function sessionCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'kd_session');
  if (!c) throw new Error(`no session cookie in response ${res.statusCode}: ${res.body}`);
  return `kd_session=${c.value}`;
}
