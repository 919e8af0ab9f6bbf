// Worker thread holding a headless xterm.js per terminal, fed with the output that left the replay
// ring. Parsing is the expensive part of mirroring a screen, so it runs off the main thread, and
// the main thread sends output only once a terminal is quiet or a snapshot is wanted (see
// ScreenMirrors). Should the worker still fall far behind, the oldest queued output is dropped —
// a snapshot is then approximate, which is acceptable because it is only used when exact replay
// is impossible anyway.
import { parentPort } from 'node:worker_threads';
import { SerializeAddon } from '@xterm/addon-serialize';
import xtermHeadless from '@xterm/headless';
import type { MirrorRequest, MirrorReply } from './screen-mirror.ts';

const { Terminal } = xtermHeadless;
const MAX_BACKLOG = 4 * 1024 * 1024;

interface Mirror {
  term: InstanceType<typeof Terminal>;
  serialize: SerializeAddon;
  queue: { offset: number; data: Uint8Array }[];
  queued: number;
  busy: boolean;
  parsedTo: number;
}

const mirrors = new Map<string, Mirror>();
const port = parentPort!;
const reply = (m: MirrorReply) => port.postMessage(m);

function pump(id: string, m: Mirror) {
  if (m.busy) return;
  const next = m.queue.shift();
  if (!next) return;
  m.busy = true;
  m.queued -= next.data.length;
  m.term.write(next.data, () => {
    m.busy = false;
    m.parsedTo = next.offset + next.data.length;
    if (mirrors.get(id) === m) pump(id, m);
  });
}

port.on('message', (msg: MirrorRequest) => {
  switch (msg.t) {
    case 'open': {
      const term = new Terminal({ cols: msg.cols, rows: msg.rows, scrollback: msg.scrollback, allowProposedApi: true });
      const serialize = new SerializeAddon();
      term.loadAddon(serialize as never);
      mirrors.set(msg.id, { term, serialize, queue: [], queued: 0, busy: false, parsedTo: 0 });
      return;
    }
    case 'data': {
      const m = mirrors.get(msg.id);
      if (!m) return;
      m.queue.push({ offset: msg.offset, data: msg.data });
      m.queued += msg.data.length;
      while (m.queued > MAX_BACKLOG && m.queue.length > 1) m.queued -= m.queue.shift()!.data.length;
      pump(msg.id, m);
      return;
    }
    case 'resize': {
      const m = mirrors.get(msg.id);
      // Applied in stream order: queue a marker by writing after what is queued so far.
      if (m) m.term.write('', () => m.term.resize(msg.cols, msg.rows));
      return;
    }
    case 'snapshot': {
      const m = mirrors.get(msg.id);
      if (!m) {
        reply({ t: 'snapshot', req: msg.req, offset: 0, data: '' });
        return;
      }
      // Serialize once everything queued before this request is parsed (the write callback runs
      // synchronously after that chunk, so parsedTo is exactly the state serialized).
      pump(msg.id, m);
      const drain = () => {
        if (m.busy || m.queue.length) {
          setImmediate(drain);
          return;
        }
        m.term.write('', () => reply({ t: 'snapshot', req: msg.req, offset: m.parsedTo, data: m.serialize.serialize({ scrollback: msg.scrollback }) }));
      };
      drain();
      return;
    }
    case 'close': {
      mirrors.get(msg.id)?.term.dispose();
      mirrors.delete(msg.id);
      return;
    }
  }
});
