/**
 * Per-connection state shared by the Bitfinex handlers (price levels and raw books): the `conf` flags the
 * client sent (`{"event":"conf","flags":N}` applies to the frames that follow on that connection), the
 * SEQ_ALL sequence counter (one per connection) and the channels subscribed on it, by `chanId`.
 */
import { type QobError, qobError } from '../../core/errors.ts';
import type { TrackedBook } from '../feed-handler.ts';
import { isRecord } from './wire.ts';

export interface BitfinexConnState<C> {
  flags: number;
  lastSeq: number | undefined;
  readonly channels: Map<number, C>;
}

export class BitfinexConnections<C> {
  private readonly conns = new Map<string, BitfinexConnState<C>>();
  /** The last connection looked up and its state (frames come in runs from one socket). */
  private lastConn: string | undefined;
  private lastState: BitfinexConnState<C> | undefined;

  /** A new socket on `conn`: no flags, no sequence, no channels yet. */
  reset(conn: string): void {
    const s: BitfinexConnState<C> = { flags: 0, lastSeq: undefined, channels: new Map() };
    this.conns.set(conn, s);
    this.lastConn = conn;
    this.lastState = s;
  }

  /** The state of `conn` (created on first use, e.g. a capture without a `connect` record). */
  get(conn: string): BitfinexConnState<C> {
    if (conn === this.lastConn) return this.lastState as BitfinexConnState<C>;
    let s = this.conns.get(conn);
    if (s === undefined) {
      s = { flags: 0, lastSeq: undefined, channels: new Map() };
      this.conns.set(conn, s);
    }
    this.lastConn = conn;
    this.lastState = s;
    return s;
  }

  /** A frame we sent: a `conf` sets the flags of the frames that follow; anything else is ignored. */
  onSend(conn: string, data: string): void {
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch {
      return;
    }
    if (isRecord(o) && o.event === 'conf' && typeof o.flags === 'number') this.get(conn).flags = o.flags;
  }
}

/** What `onBitfinexEvent` needs of a channel: the book it feeds, if the handler keeps one. */
export interface BitfinexChannel {
  readonly book: { readonly tb: TrackedBook } | undefined;
}

/**
 * The info events both Bitfinex handlers (price levels and raw books) treat alike: `info`, `pong` and
 * `error` are ignored, `conf` sets the connection's flags, `unsubscribed` forgets the channel and
 * invalidates its book. Returns true for `subscribed`, which each handler records its own way; an unknown
 * event is a typed error.
 */
export function onBitfinexEvent<C extends BitfinexChannel>(
  state: BitfinexConnState<C>,
  o: Record<string, unknown>,
  tsRecvMs: number,
): boolean {
  switch (o.event) {
    case 'info':
    case 'pong':
    case 'error':
      return false;
    case 'conf':
      if (o.status === 'OK' && typeof o.flags === 'number') state.flags = o.flags;
      return false;
    case 'subscribed':
      return true;
    case 'unsubscribed': {
      const chanId = Number(o.chanId);
      const ch = state.channels.get(chanId);
      state.channels.delete(chanId);
      ch?.book?.tb.invalidate('unsubscribed', tsRecvMs);
      return false;
    }
    default:
      throw bitfinexUnknown(`event ${JSON.stringify(o.event).slice(0, 40)}`);
  }
}

export function bitfinexUnknown(what: string): QobError {
  return qobError('QOB_ERR_UNKNOWN_MESSAGE', `bitfinex: ${what}`, { venue: 'bitfinex' });
}
