import type { ClientControl, Op as ServerOp, ServerControl } from '../../../../server/src/terminal/protocol.ts';

// The terminal wire protocol as the browser speaks it (see server/src/terminal/protocol.ts).
// The web app may only import types from the server, so the constants are repeated here and the
// compiler checks they equal the server's.

export const Op = { output: 0x01, input: 0x02, resize: 0x03, ack: 0x04, control: 0x05, snapshot: 0x06 } as const;
export const DATA_HEADER = 9;
export const Close = { badFrame: 4400, terminalClosed: 4410, attemptEnded: 4411 } as const;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const opsMatch: Same<typeof Op, typeof ServerOp> = true;
void opsMatch;

export type { ClientControl, ServerControl };

/** Stream offset of an OUTPUT/SNAPSHOT frame. */
export function frameOffset(view: DataView): number {
  return view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
}
