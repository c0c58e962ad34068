/**
 * Fault switches of the venue emulator. Three families, by where they act:
 * - frame faults act on the next update frame (a frame carrying a sequence id or checksum) sent to a
 *   matching connection, once per `count`;
 * - connection faults attach to `count` matching connections (the open ones first, oldest first, then
 *   the next ones to open) and last for the life of the connection;
 * - REST faults answer the next `count` REST snapshot requests of the venue with an error status.
 */
import { qobError } from '../core/errors.ts';

export type FrameFaultKind =
  /** Terminate the TCP connection abruptly instead of sending the frame (no close frame). */
  | 'drop-connection'
  /** Do not send the frame: the client sees a sequence gap. */
  | 'skip-sequence'
  /** Send the frame twice. */
  | 'duplicate-frame'
  /** Hold the frame and send it after the next update frame. */
  | 'reorder-frames'
  /** Send the frame with a wrong checksum (venues with checksums only). */
  | 'corrupt-checksum'
  /** Send the frame truncated to half its length (invalid JSON) instead of the frame. */
  | 'malformed-frame'
  /** Close the socket as the venue does at its connection lifetime (close frame 1000), instead of the frame. */
  | 'rotate';

export type ConnectionFaultKind =
  /** Stop sending data frames, keep the socket open and keep answering pings. */
  | 'stall'
  /** Ignore pings: application-level pings and WebSocket ping frames get no pong. */
  | 'suppress-pong'
  /** Deliver every frame `delayMs` late (order kept); the send queue bound still applies. */
  | 'slow-reads';

export type RestFaultKind = 'snapshot-429' | 'snapshot-418';

export type FaultKind = FrameFaultKind | ConnectionFaultKind | RestFaultKind;

export interface FaultSpec {
  readonly kind: FaultKind;
  /** How many times the fault fires (frames, connections, requests); default 1; `Infinity` until cleared. */
  readonly count?: number;
  /** Only this connection id (see `Emulator.connections()`). */
  readonly connection?: string;
  /** `snapshot-429` / `snapshot-418`: the `Retry-After` header in seconds (default 1). */
  readonly retryAfterS?: number;
  /** `slow-reads`: delay of each frame in ms (default 200). */
  readonly delayMs?: number;
}

export const FAULT_KINDS: readonly FaultKind[] = [
  'drop-connection',
  'skip-sequence',
  'duplicate-frame',
  'reorder-frames',
  'corrupt-checksum',
  'malformed-frame',
  'rotate',
  'stall',
  'suppress-pong',
  'slow-reads',
  'snapshot-429',
  'snapshot-418',
];

const FRAME_KINDS: ReadonlySet<string> = new Set([
  'drop-connection',
  'skip-sequence',
  'duplicate-frame',
  'reorder-frames',
  'corrupt-checksum',
  'malformed-frame',
  'rotate',
]);
const CONNECTION_KINDS: ReadonlySet<string> = new Set(['stall', 'suppress-pong', 'slow-reads']);

export function isFrameFault(kind: FaultKind): kind is FrameFaultKind {
  return FRAME_KINDS.has(kind);
}

export function isConnectionFault(kind: FaultKind): kind is ConnectionFaultKind {
  return CONNECTION_KINDS.has(kind);
}

/** An armed fault with what is left of its count. */
export interface ArmedFault {
  readonly spec: FaultSpec;
  remaining: number;
}

export function validateFault(venue: string, f: FaultSpec, hasChecksum: boolean): ArmedFault {
  if (typeof f !== 'object' || f === null || !FAULT_KINDS.includes(f.kind)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `unknown fault kind ${JSON.stringify((f as FaultSpec)?.kind)}`, {
      venue,
      kinds: FAULT_KINDS,
    });
  }
  const count = f.count ?? 1;
  if (!(count === Number.POSITIVE_INFINITY || (Number.isSafeInteger(count) && count >= 1))) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `fault count must be a positive integer or Infinity, got ${count}`, {
      venue,
      kind: f.kind,
    });
  }
  if (f.kind === 'corrupt-checksum' && !hasChecksum) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', `${venue} frames carry no checksum to corrupt`, { venue });
  }
  const num = (v: number | undefined, name: string) => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `${name} must be a non-negative number, got ${v}`, { venue, name });
    }
  };
  num(f.retryAfterS, 'retryAfterS');
  num(f.delayMs, 'delayMs');
  return { spec: f, remaining: count };
}
