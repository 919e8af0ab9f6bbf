import { errors, LabBodyQuery, LabBodyText, LabParams } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { notFound } from '../../errors.ts';

/** The global the web app sets before importing a lab body: the JSX runtime the compiled MDX calls. */
export const MDX_SCOPE_GLOBAL = '__kubedrillMdx';

/**
 * A lab's compiled instructions as an ES module (default export: the MDX component). The page
 * imports it like any script of this server, so the Content-Security-Policy needs no 'unsafe-eval'
 * (mdx-bundler's getMDXComponent would evaluate the same code with new Function).
 */
export default async function labBodyRoutes(app: App) {
  app.get(
    '/api/labs/:labId/body.js',
    {
      schema: {
        tags: ['labs'],
        summary: "A lab's compiled instructions as an ES module (?v=<hash> makes it cacheable for good)",
        params: LabParams,
        querystring: LabBodyQuery,
        response: { 200: LabBodyText, ...errors(404) },
      },
    },
    async (req, reply) => {
      const lab = app.labs.get(req.params.labId);
      if (!lab) throw notFound('lab', req.params.labId);
      // The hash names this exact body: a URL with it never changes; any other is revalidated.
      reply.header('cache-control', req.query.v === lab.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply
        .type('text/javascript; charset=utf-8')
        .send(`const { React, ReactDOM, _jsx_runtime } = globalThis.${MDX_SCOPE_GLOBAL};\nexport default (function () {\n${lab.body.code}\n})().default;\n`);
    },
  );
}
