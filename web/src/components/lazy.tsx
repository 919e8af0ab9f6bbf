import { lazy, Suspense, type ComponentProps } from 'react';
import { Loading } from './Status.tsx';

// The terminal (xterm.js and its WebGL renderer, most of the app's code) and the lab-instructions
// renderer load only on the pages that show them, so the catalogue does not download them. Each
// fallback renders what the component itself shows before it is ready, so nothing moves when it arrives.

const loadTerminalView = () => import('./terminal/TerminalView.tsx');
const TerminalViewModule = lazy(() => loadTerminalView().then((m) => ({ default: m.TerminalView })));
const LabBodyModule = lazy(() => import('./mdx/LabBody.tsx').then((m) => ({ default: m.LabBody })));

/**
 * Starts downloading the terminal while a cluster is being prepared (seconds), so it shows at once when
 * the attempt is ready, as it did when it was part of the page. A failed download is tried again on use.
 */
export function preloadTerminal(): void {
  loadTerminalView().catch(() => {});
}

/** TerminalView, loaded on first use; until then the pane shows the terminal's own "Connecting…" state. */
export function TerminalView(props: ComponentProps<typeof TerminalViewModule>) {
  return (
    <Suspense
      fallback={
        <div className="term-view" hidden={!props.active}>
          <div className="term-banner term-banner-info" role="status">
            Connecting…
          </div>
          <div className="term-host" />
        </div>
      }
    >
      <TerminalViewModule {...props} />
    </Suspense>
  );
}

/** LabBody, loaded on first use; until then the same "Loading instructions…" it shows while fetching the lab's text. */
export function LabBody(props: ComponentProps<typeof LabBodyModule>) {
  return (
    <Suspense fallback={<Loading what="instructions" />}>
      <LabBodyModule {...props} />
    </Suspense>
  );
}
