import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as jsxRuntime from 'react/jsx-runtime';
import type { ComponentType } from 'react';
import { api, type LabDetail } from '../../api/client.ts';
import { useAsync } from '../../lib/use-async.ts';
import { ErrorPanel, Loading } from '../Status.tsx';
import { mdxComponents } from './components.tsx';

type MdxContent = ComponentType<{ components: typeof mdxComponents }>;

// The compiled body is a module served by our server (script-src 'self'), importing nothing: it
// finds the JSX runtime here. Evaluating it from a string would need CSP 'unsafe-eval'.
(globalThis as Record<string, unknown>).__kubedrillMdx = { React, ReactDOM, _jsx_runtime: jsxRuntime };

/** A lab's instructions: imports the lab's compiled MDX module and renders it with the lab components. */
export function LabBody({ lab }: { lab: Pick<LabDetail, 'id' | 'hash'> }) {
  const body = useAsync(
    async () => ((await import(/* @vite-ignore */ api.labs.bodyUrl(lab.id, lab.hash))) as { default: MdxContent }).default,
    [lab.id, lab.hash],
  );
  if (body.status === 'loading') return <Loading what="instructions" />;
  if (body.status === 'error') return <ErrorPanel error={body.error} onRetry={body.reload} title="The instructions could not be loaded" />;
  const Body = body.value;
  return <Body components={mdxComponents} />;
}
