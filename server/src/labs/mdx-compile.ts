import { bundleMDX } from 'mdx-bundler';
import remarkGfm from 'remark-gfm';
import { MdxCompileError, type CompiledBody, type MdxProblem, type UsedComponent } from './bundle.ts';

// The MDX pipeline itself. It pulls in mdx-bundler, unified and esbuild's JS side, which cost the
// server ~50 MB it never gives back; so only the compile helper process (mdx-compile-process.ts)
// imports this module — see MdxCompiler in bundle.ts.

interface MdastNode {
  type: string;
  name?: string | null;
  value?: string;
  url?: string;
  data?: { estree?: { body?: unknown[] } | null };
  attributes?: { type: string; name?: string; value?: unknown; position?: MdastNode['position'] }[];
  position?: { start: { line: number; column: number; offset?: number }; end: { offset?: number } };
  children?: MdastNode[];
}

// What the page will show for a node's content: text and inline code as they are, markup dropped.
function renderedText(node: MdastNode): string {
  if (node.type === 'text' || node.type === 'inlineCode') return node.value ?? '';
  // <Node name="node01" /> stands for that node's name (the page fills in the Kubernetes name);
  // <Param name="ns" /> for the attempt's value (written and rendered alike, by name).
  if (node.name === 'Node' || node.name === 'Param') return String(node.attributes?.find((a) => a.name === 'name')?.value ?? '');
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
  return (code ? code[1]! : inner).replace(/<(?:Node|Param)\s+name="([^"]*)"\s*\/>/g, '$1');
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

// Lab content is data, not code: a lab may use the lab components, Markdown and literal props, and
// nothing else. Whoever can add a lab must not be able to run JavaScript in learners' browsers (with
// their session) nor make the compile step read files outside the lab (an import is bundled into the
// page). So ESM, JS expressions, raw HTML/JSX elements, spread or expression props and on* handlers
// are refused here, in the one compile step the server and labs:check share.
const BRACE_HINT = 'write \\{ for a literal brace, or put the text in `inline code` (e.g. `{.spec.podCIDR}`)';
const BRACE_MESSAGE = 'a { in lab text starts a JavaScript expression, which labs may not use';

function at(node: { position?: MdastNode['position'] } | undefined, fallback?: MdastNode): { line: number; col: number } {
  const p = node?.position ?? fallback?.position;
  return { line: p?.start.line ?? 1, col: p?.start.column ?? 1 };
}

/** Every place the MDX tree goes beyond Markdown + lab components + literal props. */
export function untrustedContent(tree: MdastNode): MdxProblem[] {
  const out: MdxProblem[] = [];
  const visit = (node: MdastNode) => {
    const where = at(node);
    if (node.type === 'mdxjsEsm') {
      out.push({
        ...where,
        message: 'import/export is not allowed in lab content',
        hint: 'a lab may use only Markdown and the lab components <Task>, <Hint>, <Solution>, <Run>; write the text into lab.mdx itself',
      });
    } else if (node.type === 'mdxFlowExpression' || node.type === 'mdxTextExpression') {
      // {/* a comment */} compiles to nothing: the one expression a lab may keep.
      const empty = node.data?.estree?.body?.length === 0;
      if (!empty) out.push({ ...where, message: BRACE_MESSAGE, hint: BRACE_HINT });
    } else if (
      (node.type === 'link' || node.type === 'image' || node.type === 'definition') &&
      node.url !== undefined &&
      /^\s*(javascript|vbscript|data):/i.test(node.url)
    ) {
      out.push({
        ...where,
        message: `a ${node.type === 'image' ? 'picture' : 'link'} to a ${node.url.trim().split(':')[0]!.toLowerCase()}: URL is not allowed in lab content`,
        hint: 'link to an http(s) page or a path on this server',
      });
    } else if (node.type === 'mdxJsxFlowElement' || node.type === 'mdxJsxTextElement') {
      const name = node.name ?? '';
      if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
        out.push({
          ...where,
          message: name ? `raw HTML/JSX <${name}> is not allowed in lab content` : 'a JSX fragment <> is not allowed in lab content',
          hint: 'use Markdown (**bold**, `code`, [link](https://…), lists, tables) or a lab component; to show a literal < write &lt; or use `inline code`',
        });
      }
      for (const a of node.attributes ?? []) {
        const aWhere = at(a, node);
        if (a.type !== 'mdxJsxAttribute') {
          out.push({
            ...aWhere,
            message: `<${name}> has a spread {…} attribute; lab components take literal props only`,
            hint: 'write each prop as name="text"',
          });
        } else if (a.name && /^on/i.test(a.name)) {
          out.push({ ...aWhere, message: `<${name}> has the event-handler attribute ${a.name}; labs may not run JavaScript`, hint: 'remove the attribute' });
        } else if (a.value !== null && a.value !== undefined && typeof a.value !== 'string') {
          out.push({
            ...aWhere,
            message: `<${name}> ${a.name}={…} is a JavaScript expression; lab components take literal props only`,
            hint: `write ${a.name ?? 'the prop'}="text"`,
          });
        }
      }
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit(tree);
  return out;
}

// esbuild must never read a file for a lab: the content check leaves no imports, and this refuses
// any that slip through (the entry point and the JSX runtime the page provides are all there is).
const refuseImports = {
  name: 'kubedrill-refuse-imports',
  setup(build: { onResolve: (o: { filter: RegExp }, cb: (args: { path: string; kind: string }) => unknown) => void }) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point' || /^react(-dom)?(\/jsx-(dev-)?runtime)?$/.test(args.path)) return undefined;
      return { errors: [{ text: `import of ${args.path} is not allowed in lab content` }] };
    });
  },
};

/** Compiles a whole lab.mdx (front matter included, so positions match the file); throws MdxCompileError. */
export async function compileMdx(source: string): Promise<CompiledBody> {
  const components: UsedComponent[] = [];
  let refused: MdxProblem[] = [];
  let result;
  try {
    result = await bundleMDX({
      source,
      esbuildOptions(options) {
        options.logLevel = 'silent'; // errors are returned as problems, not printed by esbuild
        options.plugins = [refuseImports as NonNullable<typeof options.plugins>[number], ...(options.plugins ?? [])];
        return options;
      },
      mdxOptions(options) {
        // Keep remark-frontmatter (so the YAML block is skipped) but do not export the front
        // matter into the browser bundle: it holds the checks, which the page does not need.
        const [frontmatter] = options.remarkPlugins ?? [];
        const trust = () => (tree: MdastNode) => {
          refused = untrustedContent(tree);
          // Nothing of a refused body is compiled (or bundled): the error below is all that comes out.
          if (refused.length > 0) tree.children = [];
        };
        options.remarkPlugins = [...(frontmatter ? [frontmatter] : []), trust, remarkGfm, () => (tree: MdastNode) => collect(tree, components, source)];
        return options;
      },
    });
  } catch (e) {
    throw toCompileError(e);
  }
  const [first, ...more] = refused;
  if (first) throw new MdxCompileError(first.message, first.line, first.col, first.hint, more);
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
  text = text.replace(/\s*\((\d+):\d+(?:-\d+:\d+)?\)\s*$/, (_m, other: string) => (Number(other) !== line ? ` (opened on line ${other})` : ''));
  // The two mistakes that trip up people writing Markdown: a literal { or < outside code.
  let hint: string | undefined;
  if (/closing brace for `\{`|in expression|with acorn/.test(text)) {
    // The parser's words ("Could not parse expression with acorn") do not tell a Markdown writer
    // what went wrong; and whatever was inside the braces, labs may not have expressions anyway.
    text = BRACE_MESSAGE;
    hint = BRACE_HINT;
    const lineText = first.location?.lineText;
    const brace = lineText !== undefined && first.location?.line === line ? openBraceColumn(lineText, col) : undefined;
    if (brace !== undefined) col = brace;
  } else if (/before name|after `<`|in name/.test(text)) {
    hint = 'in MDX, < starts a component tag: put the text in `backticks` or write &lt;';
  }
  return new MdxCompileError(text.trim(), line, col, hint);
}
