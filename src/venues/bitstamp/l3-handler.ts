/**
 * Bitstamp order-by-order (L3) books from the public `live_orders_<pair>` channel
 * (bitstamp.net/websocket/v2: "Live orders", events `order_created`, `order_changed`, `order_deleted`,
 * data `{id, id_str, order_type, datetime, microtimestamp, amount, amount_str, price, price_str}`,
 * `order_type` 0 buy, 1 sell) and the REST snapshot `GET /api/v2/order_book/<pair>/?group=2`
 * (bitstamp.net/api: `group=2` lists every order as `[price, amount, order_id]`, with the book's
 * `microtimestamp`).
 *
 * Sync (../shared/design/venue-sync-rules.md, as for `diff_order_book`): events are buffered per pair until
 * the snapshot; events whose `microtimestamp` is at or before the snapshot's are dropped, the rest applied in
 * order. No sequence and no checksum: books are invalidated on reconnect, on `bts:request_reconnect` and
 * when crossed, and stay stale until another snapshot (the connector refetches). `order_changed` carries
 * the order's remaining amount: a smaller amount keeps the order's place, a new price sends it to the back
 * of its new level; a change of an order we do not hold adds it. At most `maxBuffered` events per pair wait
 * for a snapshot; when full the buffer is dropped and the book marked stale.
 */
import type { L3Book, L3SnapshotOrder } from '../../book/l3-book.ts';
import { type QobError, qobError } from '../../core/errors.ts';
import { Decimal } from '../../core/fixed.ts';
import { trade } from '../../domain/events.ts';
import { normalizeSymbol } from '../../domain/instrument.ts';
import {
  type FeedHandlerOptions,
  type FrameCounters,
  FrameReporter,
  type TrackedBook,
  type VenueFeedHandler,
} from '../feed-handler.ts';
import { L3TrackedBook } from '../l3-tracked-book.ts';
import { isRecord, parseJsonObject } from '../wire-common.ts';
import { malformed, orderBookUrlPair, parseFrame, splitBitstampPair } from './wire.ts';

const VENUE = 'bitstamp';
const ORDERS_CHANNEL = /^live_orders_([a-z0-9]+)$/;

export interface BitstampOrderEvent {
  readonly kind: 'order_created' | 'order_changed' | 'order_deleted';
  readonly pair: string;
  readonly id: string;
  readonly side: 'bid' | 'ask';
  readonly price: string;
  readonly amount: string;
  readonly micros: number;
}

interface PairState {
  readonly tb: L3TrackedBook;
  synced: boolean;
  snapshotMicros: number;
  buffer: BitstampOrderEvent[];
  conn: string | undefined;
}

function digits(v: unknown, what: string): string {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return v;
  throw malformed(`${what} must be a non-negative integer`, { value: String(v).slice(0, 32) });
}

/** Parses one `live_orders_<pair>` event (shape only: the L3 book validates the decimals). */
export function parseOrderEvent(o: Record<string, unknown>): BitstampOrderEvent | undefined {
  const kind = o.event;
  if (kind !== 'order_created' && kind !== 'order_changed' && kind !== 'order_deleted') return undefined;
  const pair = ORDERS_CHANNEL.exec(typeof o.channel === 'string' ? o.channel : '')?.[1];
  if (pair === undefined) throw malformed(`${kind} on an unknown channel`, { channel: String(o.channel).slice(0, 64) });
  const d = o.data;
  if (!isRecord(d)) throw malformed(`${kind} without "data"`, { pair });
  const id = d.id_str !== undefined ? digits(d.id_str, 'order "id_str"') : digits(d.id, 'order "id"');
  const side = d.order_type === 0 ? 'bid' : d.order_type === 1 ? 'ask' : undefined;
  if (side === undefined) throw malformed('order "order_type" must be 0 (buy) or 1 (sell)', { pair, id });
  if (typeof d.price_str !== 'string' || typeof d.amount_str !== 'string') {
    throw malformed('order "price_str" and "amount_str" must be strings', { pair, id });
  }
  const micros = Number(digits(d.microtimestamp, 'order "microtimestamp"'));
  if (!Number.isSafeInteger(micros)) throw malformed('order "microtimestamp" is out of range', { pair, id });
  return { kind, pair, id, side, price: d.price_str, amount: d.amount_str, micros };
}

function snapshotOrders(v: unknown, side: string): L3SnapshotOrder[] {
  if (!Array.isArray(v)) throw malformed(`order book "${side}" must be an array`);
  return v.map((e, i) => {
    if (!Array.isArray(e) || e.length < 3 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      throw malformed(`order book ${side}[${i}] must be [price, amount, order_id] (group=2)`);
    }
    return [e[0], e[1], digits(e[2], `${side}[${i}] order_id`)] as const;
  });
}

export interface BitstampL3Limits {
  /** Order events buffered per pair while waiting for a snapshot (default 20,000). */
  readonly maxBuffered?: number;
}

export class BitstampL3FeedHandler implements VenueFeedHandler {
  readonly venue = VENUE;
  readonly counters: FrameCounters;
  /** Public trades emitted through `options.onTrade`. */
  trades = 0;
  private readonly frames: FrameReporter;
  private readonly options: FeedHandlerOptions;
  private readonly maxBuffered: number;
  private readonly pairs = new Map<string, PairState>();
  private readonly connectTs = new Map<string, number>();

  constructor(options: FeedHandlerOptions = {}, limits: BitstampL3Limits = {}) {
    this.options = options;
    this.frames = new FrameReporter(VENUE, options);
    this.counters = this.frames.counters;
    this.maxBuffered = limits.maxBuffered ?? 20_000;
  }

  books(): Iterable<TrackedBook> {
    return [...this.pairs.values()].map((p) => p.tb);
  }

  /** The L3 book of a pair (`btcusd`), if tracked. */
  l3(pair: string): L3Book | undefined {
    return this.pairs.get(pair)?.tb.l3;
  }

  onConnect(conn: string, _url: string, tsRecvMs: number): void {
    this.connectTs.set(conn, tsRecvMs);
    for (const p of this.pairs.values()) if (p.conn === conn) this.reset(p, 'reconnect', tsRecvMs);
  }

  onSend(conn: string, data: string, _tsMs: number): void {
    let o: unknown;
    try {
      o = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(o) || o.event !== 'bts:subscribe' || !isRecord(o.data)) return;
    const pair = ORDERS_CHANNEL.exec(typeof o.data.channel === 'string' ? o.data.channel : '')?.[1];
    if (pair !== undefined) this.state(pair).conn = conn;
  }

  onFrame(conn: string, data: string, tsRecvMs: number): void {
    try {
      this.handleFrame(conn, data, tsRecvMs);
    } catch (e) {
      this.frames.failed(e, conn);
    }
  }

  onHttp(url: string, body: string, tsRecvMs: number): void {
    try {
      const pair = orderBookUrlPair(url);
      if (pair === undefined) return; // metadata
      const p = this.state(pair);
      const epoch = p.conn === undefined ? undefined : this.connectTs.get(p.conn);
      if (epoch !== undefined && tsRecvMs < epoch) return; // fetched for an older socket
      const o = parseJsonObject(VENUE, body);
      const micros = Number(digits(o.microtimestamp, 'order book "microtimestamp"'));
      p.tb.l3.applySnapshot(snapshotOrders(o.bids, 'bids'), snapshotOrders(o.asks, 'asks')); // atomic
      p.tb.beginResync(tsRecvMs);
      p.tb.updates++;
      p.synced = true;
      p.snapshotMicros = micros;
      p.tb.lastSeq = micros;
      const buffered = p.buffer;
      p.buffer = [];
      for (const ev of buffered) {
        if (!p.synced) break;
        try {
          this.apply(p, ev, tsRecvMs);
        } catch (e) {
          this.frames.failed(e, p.conn ?? 'buffer');
        }
      }
      if (p.synced && !p.tb.checkCrossed(tsRecvMs)) p.tb.setStatus('in_sync', 'snapshot', tsRecvMs);
      else p.synced = false;
    } catch (e) {
      this.frames.failed(e, 'http');
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private state(pair: string): PairState {
    let p = this.pairs.get(pair);
    if (p === undefined) {
      p = {
        tb: new L3TrackedBook(VENUE, pair, pair, this.options),
        synced: false,
        snapshotMicros: -1,
        buffer: [],
        conn: undefined,
      };
      this.pairs.set(pair, p);
    }
    return p;
  }

  private reset(p: PairState, reason: string, tsMs: number): void {
    p.synced = false;
    p.buffer = [];
    if (p.tb.status !== 'stale') p.tb.invalidate(reason, tsMs);
  }

  private unknown(what: string): QobError {
    return qobError('QOB_ERR_UNKNOWN_MESSAGE', `bitstamp: ${what}`, { venue: VENUE });
  }

  private handleFrame(conn: string, data: string, ts: number): void {
    const o = parseJsonObject(VENUE, data);
    const ev = parseOrderEvent(o);
    if (ev !== undefined) {
      const p = this.state(ev.pair);
      p.conn ??= conn;
      if (!p.synced) {
        if (p.buffer.length >= this.maxBuffered) {
          this.reset(p, `more than ${this.maxBuffered} order events before a snapshot`, ts);
          return;
        }
        p.buffer.push(ev);
        return;
      }
      this.apply(p, ev, ts);
      return;
    }
    const f = parseFrame(data);
    switch (f.kind) {
      case 'trade': {
        const bq = splitBitstampPair(f.trade.pair);
        if (bq === undefined) {
          throw qobError('QOB_ERR_INVALID_SYMBOL', `bitstamp: no known quote currency ends pair ${f.trade.pair}`, {
            venue: VENUE,
            pair: f.trade.pair,
          });
        }
        const t = trade({
          venue: VENUE,
          symbol: normalizeSymbol(bq[0], bq[1], 'spot'),
          price: f.trade.price,
          size: f.trade.amount,
          aggressor: f.trade.side,
          tradeId: f.trade.id,
          tsEventMs: Math.floor(f.trade.micros / 1000),
          tsRecvMs: ts,
        });
        this.trades++;
        this.options.onTrade?.(t);
        return;
      }
      case 'reconnect':
        for (const p of this.pairs.values()) if (p.conn === conn) this.reset(p, 'bts:request_reconnect', ts);
        return;
      case 'subscribed':
      case 'diff':
      case 'ignored':
        return;
      case 'unknown':
        throw this.unknown(f.what);
    }
  }

  private apply(p: PairState, ev: BitstampOrderEvent, ts: number): void {
    if (ev.micros <= p.snapshotMicros) return; // already in the snapshot
    const l3 = p.tb.l3;
    if (ev.kind === 'order_deleted') l3.remove(ev.id);
    else {
      const held = l3.order(ev.id);
      if (held === undefined) l3.add(ev.id, ev.side, ev.price, ev.amount);
      else if (held.side !== ev.side || Decimal.parse(ev.price).normalize().toString() !== held.price) {
        l3.l2.parsePrice(ev.price); // validate the new level before touching the old one
        l3.remove(ev.id);
        l3.add(ev.id, ev.side, ev.price, ev.amount);
      } else l3.change(ev.id, ev.amount);
    }
    p.tb.updates++;
    if (p.tb.checkCrossed(ts)) p.synced = false;
  }
}

export function createBitstampL3FeedHandler(options?: FeedHandlerOptions): VenueFeedHandler {
  return new BitstampL3FeedHandler(options);
}
