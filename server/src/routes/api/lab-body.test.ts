import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as React from 'react';
import * as jsxRuntime from 'react/jsx-runtime';
import { renderToStaticMarkup } from 'react-dom/server';
import { testApp } from '../../testing/test-app.ts';
import { MDX_SCOPE_GLOBAL } from './lab-body.ts';

// The lab body as an ES module: what the page imports instead of evaluating code from a string.

test("a lab's instructions are served as a module whose default export renders the lab text", async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const detail = (await app.inject({ method: 'GET', url: '/api/labs/valid-lab' })).json();
  const res = await app.inject({ method: 'GET', url: `/api/labs/valid-lab/body.js?v=${detail.hash}` });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/javascript/);
  assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(
    (await app.inject({ method: 'GET', url: '/api/labs/valid-lab/body.js' })).headers['cache-control'],
    'no-cache',
    'without the hash it is revalidated',
  );
  assert.equal((await app.inject({ method: 'GET', url: '/api/labs/nope/body.js' })).statusCode, 404);

  (globalThis as Record<string, unknown>)[MDX_SCOPE_GLOBAL] = { React, ReactDOM: {}, _jsx_runtime: jsxRuntime };
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(res.body).toString('base64')}`)) as {
    default: React.ComponentType<{ components: Record<string, unknown> }>;
  };
  const Task = ({ children }: { children?: React.ReactNode }) => React.createElement('section', { className: 'task' }, children);
  const pass = ({ children }: { children?: React.ReactNode }) => React.createElement('div', null, children);
  const html = renderToStaticMarkup(React.createElement(mod.default, { components: { Task, Hint: pass, Solution: pass, Run: pass } }));
  assert.match(html, /<section class="task">/);
  assert.match(html, /Create pod <code>client<\/code>/);
});
