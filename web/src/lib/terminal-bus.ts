// Lets lab instructions (<Run>) send commands to the active terminal without knowing about it.
// The terminal pane registers a handler; without one, <Run> explains that no terminal is open.

type Handler = (command: string, opts: { execute: boolean }) => boolean;
let handler: Handler | undefined;
const watchers = new Set<() => void>();

/** Registers the active terminal; returns an unregister function. */
export function registerTerminal(h: Handler): () => void {
  handler = h;
  watchers.forEach((w) => w());
  return () => {
    if (handler === h) handler = undefined;
    watchers.forEach((w) => w());
  };
}

/** Sends a command to the active terminal; false when no terminal is connected. */
export function sendToTerminal(command: string, execute: boolean): boolean {
  return handler ? handler(command, { execute }) : false;
}

/** Whether a terminal is currently registered. */
export function hasTerminal(): boolean {
  return handler !== undefined;
}

/** Subscribes to terminal registration changes. */
export function onTerminalChange(fn: () => void): () => void {
  watchers.add(fn);
  return () => watchers.delete(fn);
}
