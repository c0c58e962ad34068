/**
 * The ingestion service: venue frames in, normalized events out on the bus (topics keyed by
 * `venue|symbol`, so each instrument stays in one partition, in order). Frames come from live connectors,
 * from a capture or recording replayed as fast as possible (deterministic tests), or from the built-in
 * simulated exchange. Each venue's frames go through a `BookEventTap` (src/services/book-events.ts).
 *
 * Publishing: the events of one frame are published together as soon as the frame is handled; a failed
 * publish is retried (growing delay) and, past `maxRetries`, counted as lost and reported.
 */

import type { Bus } from '../bus/bus.ts';
import { type BusTopic, topicOf } from '../bus/topics.ts';
import { isQobError, type QobError, qobError } from '../core/errors.ts';
import type { MarketEvent } from '../domain/events.ts';
import { type Clock, type Random, systemClock, systemRandom } from '../ingest/clock.ts';
import { type ConnectorOptions, createConnector, type VenueConnector } from '../ingest/connector.ts';
import { readCapture } from '../replay/capture.ts';
import { readRecording } from '../replay/recording.ts';
import { SimExchange } from '../sim/exchange.ts';
import type { VenueEndpoints } from '../venues/connector-spec.ts';
import type { FeedHandlerFactory } from '../venues/feed-handler.ts';
import { venueByCaptureName, venueById } from '../venues/index.ts';
import { createSimFeedHandler } from '../venues/sim/index.ts';
import { BookEventTap, type BookEventTapOptions } from './book-events.ts';
import type { ServiceMetrics } from './runtime.ts';
import { venueSymbolMapper } from './symbols.ts';

export interface IngestionOptions {
  readonly bus: Bus;
  /** First sequence number of every tap (default: `nowMs() * 1000`, so a restarted ingestion moves on). */
  readonly seqBase?: number;
  readonly snapshotEvery?: number;
  /** Venue symbol to normalized symbol; default: the venue connector spec's mapping (`venueSymbolMapper`). */
  readonly symbolOf?: BookEventTapOptions['symbolOf'];
  readonly metrics?: ServiceMetrics;
  readonly onError?: (err: QobError) => void;
  /** Publish attempts per batch before its events are counted lost (default 5). */
  readonly maxRetries?: number;
  /** Epoch-ms clock for `seqBase` (default Date.now). */
  readonly nowMs?: () => number;
}

export interface LiveOptions {
  readonly venue: string;
  /** Normalized symbols; each is spelled for the venue by its connector spec's `toVenueSymbol`. */
  readonly symbols: readonly string[];
  readonly endpoints?: Partial<VenueEndpoints>;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly fetch?: ConnectorOptions['fetch'];
  readonly createSocket?: ConnectorOptions['createSocket'];
  readonly signal?: AbortSignal;
}

export interface IngestionStats {
  published: number;
  lost: number;
  errors: number;
}

export class Ingestion {
  readonly #bus: Bus;
  readonly #options: IngestionOptions;
  readonly #taps = new Map<string, BookEventTap>();
  /** The serving tap of each live venue (a connector makes a new handler, so a new tap, on reconnect). */
  readonly #liveTaps = new Map<string, BookEventTap>();
  readonly #pending: MarketEvent[] = [];
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;
  #closed = false;
  readonly stats: IngestionStats = { published: 0, lost: 0, errors: 0 };

  constructor(options: IngestionOptions) {
    this.#bus = options.bus;
    this.#options = options;
  }

  #report(err: QobError): void {
    this.stats.errors++;
    this.#options.metrics?.errors.inc({ service: 'ingestion', code: err.code });
    this.#options.onError?.(err);
  }

  /** The tap of a venue (created on first use over the venue's registered handler, or `factory`). */
  tap(
    venue: string,
    factory?: FeedHandlerFactory,
    handlerOptions?: BookEventTapOptions['handlerOptions'],
  ): BookEventTap {
    let t = this.#taps.get(venue);
    if (t !== undefined) return t;
    const f = factory ?? venueById(venue)?.createFeedHandler;
    if (f === undefined) throw qobError('QOB_ERR_UNKNOWN_VENUE', `no venue ${JSON.stringify(venue)}`, { venue });
    const o = this.#options;
    t = new BookEventTap(venue, f, {
      seqBase: o.seqBase ?? Math.round((o.nowMs ?? Date.now)() * 1000),
      ...(o.snapshotEvery === undefined ? {} : { snapshotEvery: o.snapshotEvery }),
      symbolOf: o.symbolOf ?? venueSymbolMapper(venue),
      ...(handlerOptions === undefined ? {} : { handlerOptions }),
      emit: (e) => this.#enqueue(e),
      onError: (e) => this.#report(e),
    });
    this.#taps.set(venue, t);
    return t;
  }

  taps(): BookEventTap[] {
    return [...this.#taps.values()];
  }

  /**
   * Runs a venue's live connector (the one `qob start` uses: reconnects, resyncs, rotations) over
   * normalized `symbols` (`BTC-USDT`, `BTC-USDT-PERP`), publishing its books and its deduplicated trades.
   * Each handler the connector makes gets a tap on the venue's one sequence counter. Rotations break
   * before they make (one handler per connection at a time), so a book has one chain of events.
   */
  live(options: LiveOptions): VenueConnector {
    const { venue, symbols } = options;
    const reg = venueById(venue);
    const spec = reg?.connector;
    if (reg === undefined || spec?.toVenueSymbol === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_VENUE', `no live connector with a symbol mapping for ${JSON.stringify(venue)}`, {
        venue,
      });
    }
    const toVenue = spec.toVenueSymbol;
    const venueSymbols = symbols.map((s) => toVenue(s));
    const o = this.#options;
    const sequence = { next: o.seqBase ?? Math.round((o.nowMs ?? Date.now)() * 1000) };
    const symbolOf = o.symbolOf ?? venueSymbolMapper(venue, symbols);
    let current: BookEventTap | undefined;
    const connector = createConnector({
      spec,
      symbols: venueSymbols,
      makeBeforeBreak: false,
      clock: options.clock ?? systemClock,
      random: options.random ?? systemRandom,
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.createSocket === undefined ? {} : { createSocket: options.createSocket }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      handlerFactory: (handlerOptions) => {
        const t = new BookEventTap(venue, reg.createFeedHandler, {
          sequence,
          symbolOf,
          trades: false,
          handlerOptions,
          ...(o.snapshotEvery === undefined ? {} : { snapshotEvery: o.snapshotEvery }),
          emit: (e) => this.#enqueue(e),
          onError: (e) => this.#report(e),
        });
        current = t;
        this.#liveTaps.set(venue, t);
        return t;
      },
      onTrade: (t) => {
        try {
          current?.trade({ ...t, symbol: symbolOf(t.symbol) });
        } catch (e) {
          this.#report(isQobError(e) ? e : qobError('QOB_ERR_INTERNAL', String(e), { venue }, e));
        }
      },
    });
    return connector;
  }

  #enqueue(e: MarketEvent): void {
    this.#pending.push(e);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#publishPending();
    });
  }

  #publishPending(): void {
    if (this.#pending.length === 0) return;
    const events = this.#pending.splice(0);
    const byTopic = new Map<BusTopic, MarketEvent[]>();
    for (const e of events) {
      const t = topicOf(e);
      let l = byTopic.get(t);
      if (l === undefined) byTopic.set(t, (l = []));
      l.push(e);
    }
    // Started in call order, so each key's order holds on the bus (see Bus.publish).
    const sends = [...byTopic].map(([topic, list]) => this.#publish(topic, list));
    this.#chain = Promise.all([this.#chain, ...sends]).then(() => undefined);
  }

  async #publish(topic: BusTopic, events: MarketEvent[]): Promise<void> {
    const max = this.#options.maxRetries ?? 5;
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#bus.publish(topic, events);
        this.stats.published += events.length;
        this.#options.metrics?.events.inc({ service: 'ingestion', topic }, events.length);
        return;
      } catch (e) {
        const err = isQobError(e) ? e : qobError('QOB_ERR_IO', `publish failed: ${String(e)}`, { topic }, e);
        if (attempt >= max || this.#closed || err.code === 'QOB_ERR_CLOSED') {
          this.stats.lost += events.length;
          this.#report(err);
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /**
   * Publishes a fresh snapshot of every in-sync book now. The service does it every 30 s, so a book whose
   * partition moved to another orderbook instance resyncs within that even when it changes rarely (the
   * periodic snapshot comes only every `snapshotEvery` deltas).
   */
  resnapshot(nowMs: number): void {
    for (const t of this.#taps.values()) t.resnapshot(nowMs);
    for (const t of this.#liveTaps.values()) t.resnapshot(nowMs);
  }

  /** Resolves when every event handled so far is published (or counted lost). */
  async flush(): Promise<void> {
    this.#publishPending();
    await this.#chain;
  }

  /** Replays a cryptofeed capture (`format` cryptofeed) or a recording (`qob`) as fast as possible. */
  async replay(path: string, format: 'cryptofeed' | 'qob', options: { venue?: string; signal?: AbortSignal } = {}) {
    let records = 0;
    if (format === 'qob') {
      for await (const r of readRecording(path, options.venue === undefined ? {} : { venue: options.venue })) {
        if (options.signal?.aborted) break;
        records++;
        const t = this.tap(r.venue);
        if (r.t === 'connect') t.onConnect(r.conn, r.url ?? '', r.tsMs);
        else if (r.t === 'send') t.onSend(r.conn, r.data ?? '', r.tsMs);
        else if (r.t === 'recv') t.onFrame(r.conn, r.data ?? '', r.tsMs);
        else if (r.t === 'http') t.onHttp(r.url ?? '', r.data ?? '', r.tsMs);
        if (records % 256 === 0) await this.flush();
      }
    } else {
      let t = options.venue === undefined ? undefined : this.tap(options.venue);
      for await (const r of readCapture(path)) {
        if (options.signal?.aborted) break;
        if (r.t === 'header') {
          if (t === undefined) {
            const reg = venueByCaptureName(r.exchange);
            if (reg === undefined) {
              throw qobError('QOB_ERR_UNKNOWN_VENUE', `capture is from ${r.exchange}, which has no handler`, {
                exchange: r.exchange,
              });
            }
            t = this.tap(reg.id);
          }
          continue;
        }
        if (t === undefined) {
          throw qobError('QOB_ERR_CAPTURE_FORMAT', 'capture has no header: give the venue (--venue)', { path });
        }
        records++;
        if (r.t === 'connect') t.onConnect(r.conn, r.addr, r.tsMs);
        else if (r.t === 'send') t.onSend(r.conn, r.data, r.tsMs);
        else if (r.t === 'recv') t.onFrame(r.conn, r.data, r.tsMs);
        else t.onHttp(r.url, r.data, r.tsMs);
        if (records % 256 === 0) await this.flush();
      }
    }
    await this.flush();
    return { records };
  }

  /** Idempotent; flushes what is pending first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush().catch(() => undefined);
    this.#closed = true;
  }
}

/** The built-in simulated exchange feeding an ingestion tap: `step(n)` runs the market `n` steps. */
export class SimIngestion {
  readonly exchange: SimExchange;
  readonly tap: BookEventTap;
  readonly #conn: { send(text: string): void; close(): void };
  readonly #resync = new Set<string>();
  #delivering = false;

  constructor(ingestion: Ingestion, options: { symbols: readonly string[]; seed?: number; stepMs?: number }) {
    this.exchange = new SimExchange({
      symbols: options.symbols,
      seed: options.seed ?? 1,
      ...(options.stepMs === undefined ? {} : { stepMs: options.stepMs }),
    });
    this.tap = ingestion.tap('sim', createSimFeedHandler as FeedHandlerFactory, {
      onStatus: (c) => {
        if (c.status === 'stale') this.#resync.add(c.symbol);
      },
    });
    this.tap.onConnect('sim', 'sim://in-process', this.exchange.nowMs);
    this.#conn = this.exchange.connect((text) => this.#deliver(text));
  }

  #deliver(text: string): void {
    this.tap.onFrame('sim', text, this.exchange.nowMs);
    if (this.#delivering || this.#resync.size === 0) return;
    this.#delivering = true;
    try {
      for (const symbol of [...this.#resync]) {
        this.#resync.delete(symbol);
        this.#conn.send(JSON.stringify({ op: 'snapshot', symbol }));
      }
    } finally {
      this.#delivering = false;
    }
  }

  step(n: number): void {
    this.exchange.step(n);
  }

  close(): void {
    this.#conn.close();
    this.exchange.close();
  }
}
