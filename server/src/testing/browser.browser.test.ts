import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { browserSkip as skip, startBrowserServer, type BrowserServer } from './browser.ts';

// The browser suites end with "no problems on the page": that proves something only if a page's
// problems are really collected. Here a page makes some on purpose.

let server: BrowserServer | undefined;

before(async () => {
  if (!skip) server = await startBrowserServer();
});

after(async () => {
  const dir = server?.dir;
  await server?.close();
  if (dir) assert.ok(!existsSync(dir), 'close removes the scratch folder');
});

test('a page reports its uncaught errors, and console errors only when asked, less the expected ones', { skip }, async () => {
  const quiet = await server!.newPage();
  const all = await server!.newPage({}, { consoleErrors: true });
  const some = await server!.newPage({}, { consoleErrors: /^expected:/ });
  for (const { page } of [quiet, all, some]) {
    await page.goto(`${server!.base}/`);
    // The console messages come first, the error after them: once it is in, all three are.
    const thrown = page.waitForEvent('pageerror');
    await page.evaluate(() => {
      console.error('expected: a 401 before signing in');
      console.error('refused by the CSP');
      setTimeout(() => {
        throw new Error('boom');
      });
    });
    await thrown;
  }
  assert.deepEqual(quiet.problems, ['boom']);
  assert.deepEqual(all.problems.toSorted(), ['boom', 'expected: a 401 before signing in', 'refused by the CSP']);
  assert.deepEqual(some.problems.toSorted(), ['boom', 'refused by the CSP']);
});
