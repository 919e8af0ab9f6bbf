import { useEffect, useState } from 'react';

/** Loading state of an async value: loading, the value, or the error. */
export type AsyncState<T> = { status: 'loading' } | { status: 'ok'; value: T } | { status: 'error'; error: Error };

/** Runs an abortable loader when deps change and tracks its state. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState({ status: 'loading' });
    load(ctl.signal).then(
      (value) => !ctl.signal.aborted && setState({ status: 'ok', value }),
      (error: Error) => !ctl.signal.aborted && setState({ status: 'error', error }),
    );
    return () => ctl.abort();
    // load is a new closure on every render; the caller's deps say when it must run again, and
    // exhaustive-deps checks them at every call site (additionalHooks in eslint.config.js).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}
