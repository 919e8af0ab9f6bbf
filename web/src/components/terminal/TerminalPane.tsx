import { useCallback, useEffect, useState } from 'react';
import { api, type NodeName, type TerminalInfo } from '../../api/client.ts';
import { TerminalView } from '../lazy.tsx';

const FONT_KEY = 'kd-term-font';

function useFontSize(): [number, (n: number) => void] {
  const [size, setSize] = useState(() => Number(localStorage.getItem(FONT_KEY)) || 13);
  return [
    size,
    (n) => {
      const v = Math.max(9, Math.min(28, n));
      setSize(v);
      try {
        localStorage.setItem(FONT_KEY, String(v));
      } catch {
        /* not persisted */
      }
    },
  ];
}

/** The attempt's terminals as tabs: shells on the workstation and root shells on nodes. */
export function TerminalPane({ attemptId }: { attemptId: string }) {
  const [terminals, setTerminals] = useState<TerminalInfo[] | null>(null);
  const [active, setActive] = useState<string | null>(() => sessionStorage.getItem(`kd-term-active-${attemptId}`));
  const [error, setError] = useState<string | null>(null);
  const [nodes, setNodes] = useState<NodeName[]>([]);
  const [fontSize, setFontSize] = useFontSize();

  const choose = useCallback(
    (id: string) => {
      setActive(id);
      sessionStorage.setItem(`kd-term-active-${attemptId}`, id);
    },
    [attemptId],
  );

  const open = useCallback(
    async (input: { kind: 'shell' | 'node'; node?: string }) => {
      try {
        const t = await api.terminals.open(attemptId, input);
        setTerminals((ts) => [...(ts ?? []), t]);
        choose(t.id);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [attemptId, choose],
  );

  useEffect(() => {
    const ctl = new AbortController();
    api.terminals
      .list(attemptId, ctl.signal)
      .then(async (list) => {
        if (list.terminals.length === 0) {
          const t = await api.terminals.open(attemptId, { kind: 'shell' });
          list.terminals.push(t);
        }
        setTerminals(list.terminals);
        setActive((a) => (a && list.terminals.some((t) => t.id === a) ? a : list.terminals[0]!.id));
      })
      .catch((e: Error) => e.name !== 'AbortError' && setError(e.message));
    api.terminals.nodes(attemptId).then(
      (r) => setNodes(r.nodes),
      () => setNodes([]),
    );
    return () => ctl.abort();
  }, [attemptId]);

  const close = async (id: string) => {
    await api.terminals.close(attemptId, id).catch(() => {});
    setTerminals((ts) => {
      const rest = (ts ?? []).filter((t) => t.id !== id);
      if (active === id && rest[0]) choose(rest[0].id);
      return rest;
    });
  };

  return (
    <div className="term-pane">
      <div className="term-tabs" role="tablist" aria-label="Terminals">
        {(terminals ?? []).map((t) => (
          <div key={t.id} className={`term-tab${t.id === active ? ' term-tab-active' : ''}`}>
            <button
              type="button"
              role="tab"
              aria-selected={t.id === active}
              onClick={() => choose(t.id)}
              title={t.kind === 'node' ? `root shell on ${t.title}` : `shell on the workstation`}
            >
              {t.kind === 'node' ? `⚙ ${t.title}` : t.title}
            </button>
            <button type="button" className="term-tab-close" aria-label={`Close ${t.title}`} title="Close (ends its shell)" onClick={() => void close(t.id)}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="term-tab-new" title="New workstation shell" aria-label="New shell" onClick={() => void open({ kind: 'shell' })}>
          +
        </button>
        {nodes.length ? (
          <select
            className="term-node-select"
            aria-label="Open a root shell on a node"
            value=""
            onChange={(e) => e.target.value && void open({ kind: 'node', node: e.target.value })}
          >
            <option value="">node shell…</option>
            {nodes.map((n) => (
              <option key={n.container} value={n.name} title={n.container}>
                {n.name}
              </option>
            ))}
          </select>
        ) : null}
        <span className="term-spacer" />
        <button type="button" className="term-font" aria-label="Smaller text" onClick={() => setFontSize(fontSize - 1)}>
          A−
        </button>
        <button type="button" className="term-font" aria-label="Larger text" onClick={() => setFontSize(fontSize + 1)}>
          A+
        </button>
      </div>
      {error ? (
        <div className="term-banner term-banner-bad" role="alert">
          {error}
        </div>
      ) : null}
      <div className="term-views">
        {(terminals ?? []).map((t) => (
          <TerminalView key={t.id} attemptId={attemptId} terminalId={t.id} active={t.id === active} fontSize={fontSize} />
        ))}
      </div>
    </div>
  );
}
