import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { registerTerminal } from '../../lib/terminal-bus.ts';
import type { TerminalTicket } from '../../api/client.ts';
import { TerminalConnection, type ConnectionState } from './connection.ts';

const THEME = { background: '#0b0e13', foreground: '#d5dde7', cursor: '#6ea1ff', selectionBackground: '#2f4a78' };

/**
 * One xterm.js terminal bound to one server terminal; registers with the terminal bus while active.
 * With `watch` it is an instructor's read-only view of a learner's terminal (the learner is told).
 */
export function TerminalView({
  attemptId,
  terminalId,
  active,
  fontSize,
  watch,
}: {
  attemptId: string;
  terminalId: string;
  active: boolean;
  fontSize: number;
  watch?: { ticket: () => Promise<TerminalTicket>; whose: string };
}) {
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const [state, setState] = useState<ConnectionState>({ kind: 'connecting' });
  const [role, setRole] = useState<{ writer: boolean; reason: string }>({ writer: true, reason: '' });
  // The latest notice from the server, e.g. that an instructor is watching this terminal.
  const [notice, setNotice] = useState('');

  useEffect(() => {
    const el = host.current!;
    const term = new Terminal({
      fontSize,
      fontFamily: "'DejaVu Sans Mono', 'JetBrains Mono', Menlo, monospace",
      cursorBlink: true,
      scrollback: 5000,
      allowProposedApi: true,
      theme: THEME,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon());
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = '11';
    term.open(el);
    // localStorage kd-term-renderer=dom keeps the DOM renderer (for GPUs that misbehave; tests read its rows).
    if (localStorage.getItem('kd-term-renderer') !== 'dom')
      try {
        const webgl = new WebglAddon();
        webgl.onContextLoss(() => webgl.dispose()); // falls back to the DOM renderer
        term.loadAddon(webgl);
      } catch {
        /* no WebGL: the DOM renderer stays */
      }
    // Exam habits: Ctrl+Shift+C copies, Ctrl+Shift+V pastes (the browser's paste event), selecting copies.
    term.attachCustomKeyEventHandler((e) => {
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && (e.code === 'KeyC' || e.code === 'KeyV')) {
        if (e.code === 'KeyC' && term.hasSelection()) void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
        return false;
      }
      return true;
    });
    term.onSelectionChange(() => {
      if (term.hasSelection()) void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
    });
    const conn = new TerminalConnection({
      attemptId,
      terminalId,
      term,
      onState: setState,
      onRole: (writer, reason) => setRole({ writer, reason }),
      onNotice: setNotice,
      ...(watch ? { ticket: watch.ticket, readOnly: true } : {}),
    });
    term.onData((d) => conn.sendInput(d));
    term.onBinary((d) => conn.sendInput(d));
    term.onResize(({ cols, rows }) => conn.resize(cols, rows));
    termRef.current = term;
    connRef.current = conn;
    fitRef.current = fit;
    try {
      fit.fit();
    } catch {
      /* hidden: fitted when shown */
    }
    conn.start();
    // Fit when the pane changes size, debounced so dragging the splitter does not flood resizes.
    let t: ReturnType<typeof setTimeout> | undefined;
    const ro = new ResizeObserver(() => {
      clearTimeout(t);
      t = setTimeout(() => {
        if (el.offsetParent !== null) fit.fit();
      }, 80);
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      clearTimeout(t);
      conn.dispose();
      term.dispose();
    };
    // fontSize changes are applied below without recreating the terminal; watch is fixed for a view's
    // life (the watch panel keys it by terminal) and is a new object on every render of its parent.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attemptId, terminalId]);

  useEffect(() => {
    const term = termRef.current;
    if (!term) return;
    term.options.fontSize = fontSize;
    if (host.current?.offsetParent !== null) fitRef.current?.fit();
  }, [fontSize]);

  useEffect(() => {
    if (!active) return;
    const term = termRef.current;
    if (host.current?.offsetParent !== null) fitRef.current?.fit();
    term?.focus();
    // <Run>: paste the command (bracketed when the shell asked for it) and press Enter.
    return registerTerminal((command, { execute }) => {
      const conn = connRef.current;
      if (!term || !conn || conn.state.kind !== 'live' || !conn.writer) return false;
      term.paste(command);
      if (execute) conn.sendInput('\r');
      term.focus();
      return true;
    });
  }, [active]);

  return (
    <div className="term-view" hidden={!active} data-terminal-id={terminalId} data-state={state.kind}>
      <Banner state={state} onRetry={() => connRef.current?.retry()} />
      {notice ? (
        <div className="term-banner term-banner-warn" role="status" data-notice>
          {notice}
        </div>
      ) : null}
      {watch ? (
        <div className="term-banner term-banner-info" role="status">
          Watching {watch.whose}'s terminal — read-only; they can see that you are watching.
        </div>
      ) : !role.writer && state.kind === 'live' ? (
        <div className="term-banner term-banner-info" role="status">
          Read-only: {role.reason || 'another window has input'}.{' '}
          <button type="button" className="btn btn-small btn-outline" onClick={() => connRef.current?.takeInput()}>
            Type here
          </button>
        </div>
      ) : null}
      <div className="term-host" ref={host} />
    </div>
  );
}

function Banner({ state, onRetry }: { state: ConnectionState; onRetry: () => void }) {
  switch (state.kind) {
    case 'live':
      return null;
    case 'connecting':
    case 'replaying':
      return (
        <div className="term-banner term-banner-info" role="status">
          Connecting…
        </div>
      );
    case 'reconnecting':
      return (
        <div className="term-banner term-banner-warn" role="status">
          Reconnecting… (attempt {state.attempt}, next try in {(state.inMs / 1000).toFixed(1)} s). Your shell keeps running.
        </div>
      );
    case 'gave-up':
      return (
        <div className="term-banner term-banner-bad" role="alert">
          Disconnected: {state.reason}.{' '}
          <button type="button" className="btn btn-small btn-primary" onClick={onRetry}>
            Retry
          </button>
        </div>
      );
    case 'ended':
      return (
        <div className="term-banner term-banner-bad" role="status">
          This terminal has ended: {state.reason}.
        </div>
      );
  }
}
