import { bundleMDX } from 'mdx-bundler';
import remarkGfm from 'remark-gfm';
import { MdxCompileError, type CompiledBody, type UsedComponent } from './bundle.ts';

// The MDX pipeline itself. It pulls in mdx-bundler, unified and esbuild's JS side, which cost the
// server ~50 MB it never gives back; so only the compile helper process (mdx-compile-process.ts)
// imports this module — see MdxCompiler in bundle.ts.

interface MdastNode {
  type: string;
  name?: string | null;
  value?: string;
  attributes?: { type: string; name?: string; value?: unknown }[];
  position?: { start: { line: number; column: number; offset?: number }; end: { offset?: number } };
  children?: MdastNode[];
}

// What the page will show for a node's content: text and inline code as they are, markup dropped.
function renderedText(node: MdastNode): string {
  if (node.type === 'text' || node.type === 'inlineCode') return node.value ?? '';
  // <Node name="node01" /> stands for that node's name (the page fills in the Kubernetes name).
  if (node.name === 'Node') return String(node.attributes?.find((a) => a.name === 'name')?.value ?? '');
  if (node.type === 'break') return '\n';
  return (node.children ?? []).map(renderedText).join('');
}

// The text written between <Run …> and </Run>, with one pair of surrounding backticks removed.
function writtenText(node: MdastNode, source: string): string | undefined {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  if (start === undefined || end === undefined) return undefined;
  const raw = source.slice(start, end);
  const open = raw.indexOf('>');
  const close = raw.lastIndexOf('</');
  if (open === -1 || close <= open) return undefined;
  const inner = raw.slice(open + 1, close).trim();
  const code = /^`([^`]*)`$/.exec(inner);
  return (code ? code[1]! : inner).replace(/<Node\s+name="([^"]*)"\s*\/>/g, '$1');
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

function collect(node: MdastNode, out: UsedComponent[], source: string) {
  if ((node.type === 'mdxJsxFlowElement' || node.type === 'mdxJsxTextElement') && node.name) {
    const attributes: Record<string, string | true> = {};
    for (const a of node.attributes ?? []) {
      if (a.type !== 'mdxJsxAttribute' || !a.name) continue;
      attributes[a.name] = typeof a.value === 'string' ? a.value : a.value === null || a.value === undefined ? true : '{expression}';
    }
    const used: UsedComponent = { name: node.name, attributes, line: node.position?.start.line ?? 1, col: node.position?.start.column ?? 1 };
    if (node.name === 'Run') {
      const written = writtenText(node, source);
      if (written !== undefined) used.text = { source: squash(written), rendered: squash(renderedText(node)) };
    }
    out.push(used);
  }
  for (const child of node.children ?? []) collect(child, out, source);
}

/** Compiles a whole lab.mdx (front matter included, so positions match the file); throws MdxCompileError. */
export async function compileMdx(source: string): Promise<CompiledBody> {
  const components: UsedComponent[] = [];
  let result;
  try {
    result = await bundleMDX({
      source,
      esbuildOptions(options) {
        options.logLevel = 'silent'; // errors are returned as problems, not printed by esbuild
        return options;
      },
      mdxOptions(options) {
        // Keep remark-frontmatter (so the YAML block is skipped) but do not export the front
        // matter into the browser bundle: it holds the checks, which the page does not need.
        const [frontmatter] = options.remarkPlugins ?? [];
        options.remarkPlugins = [...(frontmatter ? [frontmatter] : []), remarkGfm, () => (tree: MdastNode) => collect(tree, components, source)];
        return options;
      },
    });
  } catch (e) {
    throw toCompileError(e);
  }
  return { code: result.code, components };
}

interface EsbuildMessage {
  text: string;
  location?: { line: number; column: number; lineText?: string } | null;
}

// Column (1-based) of the last "{" in the line before col that is not closed before it.
function openBraceColumn(lineText: string, col: number): number | undefined {
  const open: number[] = [];
  for (let i = 0; i < Math.min(col - 1, lineText.length); i++) {
    if (lineText[i] === '{') open.push(i);
    else if (lineText[i] === '}') open.pop();
  }
  const at = open.at(-1);
  return at === undefined ? undefined : at + 1;
}

function toCompileError(e: unknown): MdxCompileError {
  const errors = (e as { errors?: EsbuildMessage[] }).errors;
  const first = errors?.[0];
  if (!first) return new MdxCompileError((e as Error).message ?? String(e), 1, 1);
  // @mdx-js/esbuild reports "Cannot process MDX file with esbuild:\n  85:1-85:8: <reason> (81:1-81:6)".
  let text = first.text.replace(/^Cannot process MDX file with esbuild:\s*/, '');
  let line = first.location?.line ?? 1;
  let col = (first.location?.column ?? 0) + 1;
  const lead = /^(\d+):(\d+)(?:-\d+:\d+)?:\s*/.exec(text);
  if (lead) {
    line = Number(lead[1]);
    col = Number(lead[2]);
    text = text.slice(lead[0].length);
  }
  text = text
    .replace(/^Could not parse expression with acorn:?\s*/, '')
    .replace(/\s*\((\d+):\d+(?:-\d+:\d+)?\)\s*$/, (_m, other: string) => (Number(other) !== line ? ` (opened on line ${other})` : ''));
  // The two mistakes that trip up people writing Markdown: a literal { or < outside code.
  let hint: string | undefined;
  if (/closing brace for `\{`|in expression/.test(text)) {
    hint = 'in MDX, { starts a JavaScript expression: put the text in `backticks` or write \\{';
    const lineText = first.location?.lineText;
    const brace = lineText !== undefined && first.location?.line === line ? openBraceColumn(lineText, col) : undefined;
    if (brace !== undefined) col = brace;
  } else if (/before name|after `<`|in name/.test(text)) {
    hint = 'in MDX, < starts a component tag: put the text in `backticks` or write &lt;';
  }
  return new MdxCompileError(text.trim(), line, col, hint);
}
