// The MDX compile helper: a child process MdxCompiler starts on a cache miss and stops when idle.
// Requests arrive as { id, source } over IPC; each answer is a CompileReply.
import type { CompileReply } from './bundle.ts';
import { MdxCompileError } from './bundle.ts';
import { compileMdx } from './mdx-compile.ts';
import { errorMessage } from '../errors.ts';

process.on('message', (msg: { id: number; source: string }) => {
  const reply = (r: CompileReply) => process.send?.(r);
  compileMdx(msg.source).then(
    (body) => reply({ id: msg.id, body }),
    (e: unknown) =>
      reply({
        id: msg.id,
        error:
          e instanceof MdxCompileError
            ? { message: e.message, line: e.line, col: e.col, ...(e.hint ? { hint: e.hint } : {}), more: e.more }
            : { message: errorMessage(e) },
      }),
  );
});
// The parent going away (or disconnecting on purpose) ends the helper.
process.on('disconnect', () => process.exit(0));
