/**
 * Per-connection state shared by the Bitfinex handlers (price levels and raw books): the `conf` flags the
 * client sent (`{"event":"conf","flags":N}` applies to the frames that follow on that connection), the
 * SEQ_ALL sequence counter (one per connection) and the channels subscribed on it, by `chanId`.
 */
import { type QobError, qobError } from '../../core/errors.ts';
import { isRecord } from './wire.ts';

export interface BitfinexConnState<C> {
  flags: number;
  lastSeq: number | undefined;
  readonly channels: Map<number, C>;
}

export class BitfinexConnections<C> {
  private readonly conns = new Map<string, BitfinexConnState<C>>();

  /** A new socket on `conn`: no flags, no sequence, no channels yet. */
  reset(conn: string): void {
    this.conns.set(conn, { flags: 0, lastSeq: undefined, channels: new Map() });
  }

  /** The state of `conn` (created on first use, e.g. a capture without a `connect` record). */
  get(conn: string): BitfinexConnState<C> {
    let s = this.conns.get(conn);
    if (s === undefined) {
      s = { flags: 0, lastSeq: undefined, channels: new Map() };
      this.conns.set(conn, s);
    }
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

export function bitfinexUnknown(what: string): QobError {
  return qobError('QOB_ERR_UNKNOWN_MESSAGE', `bitfinex: ${what}`, { venue: 'bitfinex' });
}
