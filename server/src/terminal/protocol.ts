// The terminal wire protocol: binary WebSocket frames whose first byte is an opcode.
// Kept free of Node APIs so its shape is easy to mirror in the browser (web/src/components/terminal/protocol.ts).
//
// server → client
//   OUTPUT   [0x01][u32 hi][u32 lo offset][bytes]   pty output starting at stream offset `offset`
//   SNAPSHOT [0x06][u32 hi][u32 lo offset][bytes]   a serialized screen equal to the stream up to `offset`;
//                                                    the client resets its terminal, writes it, and continues at `offset`
//   CONTROL  [0x05][JSON]                            ServerControl
// client → server
//   INPUT    [0x02][utf-8 bytes]                     keystrokes / paste (only from the writer, after replay)
//   RESIZE   [0x03][u16 cols][u16 rows]
//   ACK      [0x04][u32 bytes]                       bytes of OUTPUT/SNAPSHOT data the terminal has finished writing
//   CONTROL  [0x05][JSON]                            ClientControl

/** Opcodes: the first byte of every frame. */
export const Op = { output: 0x01, input: 0x02, resize: 0x03, ack: 0x04, control: 0x05, snapshot: 0x06 } as const;
export type OpName = keyof typeof Op;

/** Subprotocol both sides speak; the ticket travels as a second subprotocol `kd-ticket.<ticket>`. */
export const TERMINAL_SUBPROTOCOL = 'kubedrill.terminal.v1';
export const TICKET_SUBPROTOCOL_PREFIX = 'kd-ticket.';

/** Header length of OUTPUT and SNAPSHOT frames (opcode + 64-bit offset). */
export const DATA_HEADER = 9;

/** Resize bounds accepted by the server. */
export const MIN_COLS = 2;
export const MAX_COLS = 1000;
export const MIN_ROWS = 1;
export const MAX_ROWS = 500;

/** WebSocket close codes (4000–4999 are the application's). */
export const Close = {
  normal: 1000,
  protocolError: 1002,
  tooBig: 1009,
  badFrame: 4400,
  attachTimeout: 4408,
  terminalClosed: 4410,
  attemptEnded: 4411,
  serverClosing: 4503,
} as const;

/** Messages the server sends as CONTROL frames. */
export type ServerControl =
  | { type: 'hello'; terminalId: string; kind: 'shell' | 'node'; title: string; writer: boolean; cols: number; rows: number }
  | { type: 'replay-done'; offset: number }
  | { type: 'role'; writer: boolean; reason: string }
  | { type: 'exit'; code: number | null; reason: string }
  | { type: 'notice'; message: string };

/** Messages the client sends as CONTROL frames. */
export type ClientControl =
  { type: 'attach'; from: number; cols: number; rows: number; readOnly?: boolean } | { type: 'ready' } | { type: 'take-input' } | { type: 'ping' };

/** Writes a 53-bit safe offset as two big-endian u32 at `at`. */
export function writeOffset(view: DataView, at: number, offset: number): void {
  view.setUint32(at, Math.floor(offset / 0x1_0000_0000));
  view.setUint32(at + 4, offset >>> 0);
}

/** Reads what writeOffset wrote. */
export function readOffset(view: DataView, at: number): number {
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}
