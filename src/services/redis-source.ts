/**
 * The gateway's `MarketDataSource` over Redis (the gateway service): the latest top-N book of each
 * instrument from the cache, kept live by the top-N changes the orderbook service publishes.
 *
 * Each book mirror holds exactly what the cache holds at its version. A published change applies when its
 * `prevSeq` is the mirror's version; anything else (a change from another instance, a resync marker, a
 * missed message: pub/sub is fire-and-forget) makes the mirror re-read the cache, holding the changes that
 * arrive meanwhile. Status entries say whether a book is in sync; one that is not is never served with
 * levels. Every book is also re-read every `refreshMs` (new books appear through their first change).
 */
import { L2Book } from '../book/l2-book.ts';
import type { DeltaSubscription, RedisCache } from '../bus/redis-cache.ts';
import type { QobError } from '../core/errors.ts';
import type { BookDeltaEvent } from '../domain/events.ts';
import {
  type BookRef,
  bookStatusOfRef,
  type MarketDataSource,
  type MarketStatus,
  type Readiness,
  type VenueView,
} from '../gateway/source.ts';
import type { ServiceMetrics } from './runtime.ts';

export interface RedisSourceOptions {
  readonly cache: RedisCache;
  /** `venue|symbol` keys to load at start (others appear with their first published change). */
  readonly keys?: readonly string[];
  /** Period of the full re-read, ms (default 1000; 0: never). */
  readonly refreshMs?: number;
  readonly metrics?: ServiceMetrics;
  readonly onError?: (err: QobError) => void;
  /** Epoch-ms clock (default Date.now). */
  readonly nowMs?: () => number;
}

interface Mirror {
  readonly venue: string;
  readonly symbol: string;
  readonly book: L2Book;
  version: number;
  inSync: boolean;
  status: string;
  reason: string | null;
  updates: number;
  lastUpdateMs: number | null;
  refreshing: boolean;
  /** Changes that arrived while re-reading. */
  held: BookDeltaEvent[];
}

export class RedisMarketData implements MarketDataSource {
  readonly #o: RedisSourceOptions;
  readonly #mirrors = new Map<string, Mirror>();
  readonly #listeners = new Set<(venue: string, symbol: string) => void>();
  #sub: DeltaSubscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Re-reads of the cache (a statistic). */
  refreshes = 0;

  private constructor(o: RedisSourceOptions) {
    this.#o = o;
  }

  static async start(o: RedisSourceOptions): Promise<RedisMarketData> {
    const s = new RedisMarketData(o);
    s.#sub = await o.cache.subscribeDeltas('*', (d) => s.#onDelta(d), { onError: (e) => s.#report(e) });
    await Promise.all((o.keys ?? []).map((k) => s.#refresh(s.#mirror(k))));
    const every = o.refreshMs ?? 1000;
    if (every > 0) {
      s.#timer = setInterval(() => {
        for (const m of s.#mirrors.values()) void s.#refresh(m);
      }, every);
      s.#timer.unref();
    }
    return s;
  }

  #report(err: QobError): void {
    this.#o.metrics?.errors.inc({ service: 'gateway', code: err.code });
    this.#o.onError?.(err);
  }

  /** Calls `listener` whenever a book's served state changed; returns the unsubscribe function. */
  onChange(listener: (venue: string, symbol: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(m: Mirror): void {
    for (const l of this.#listeners) l(m.venue, m.symbol);
  }

  #mirror(key: string): Mirror {
    let m = this.#mirrors.get(key);
    if (m === undefined) {
      const i = key.indexOf('|');
      m = {
        venue: key.slice(0, i),
        symbol: key.slice(i + 1),
        book: new L2Book(),
        version: -1,
        inSync: false,
        status: 'syncing',
        reason: 'not read yet',
        updates: 0,
        lastUpdateMs: null,
        refreshing: false,
        held: [],
      };
      this.#mirrors.set(key, m);
    }
    return m;
  }

  #onDelta(d: BookDeltaEvent): void {
    const m = this.#mirror(`${d.venue}|${d.symbol}`);
    if (m.refreshing) {
      if (m.held.length < 10_000) m.held.push(d);
      return;
    }
    if (!this.#applyDelta(m, d)) void this.#refresh(m);
    else this.#changed(m);
  }

  /** Applies a change that continues the mirror; false when it does not. */
  #applyDelta(m: Mirror, d: BookDeltaEvent): boolean {
    const last = d.lastSeq ?? -1;
    if (last <= m.version && d.prevSeq !== null) return true; // already reflected
    if (!m.inSync || d.prevSeq === null || d.prevSeq !== m.version) return false;
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (const c of d.changes) (c.side === 'bid' ? bids : asks).push([c.price, c.size]);
    m.book.applyDelta(bids, asks);
    m.version = last;
    m.updates++;
    m.lastUpdateMs = (this.#o.nowMs ?? Date.now)();
    return true;
  }

  async #refresh(m: Mirror): Promise<void> {
    if (m.refreshing || this.#closed) return;
    m.refreshing = true;
    try {
      for (let round = 0; round < 3; round++) {
        this.refreshes++;
        const [book, st] = await Promise.all([
          this.#o.cache.getBook(m.venue, m.symbol),
          this.#o.cache.getStatus(m.venue, m.symbol),
        ]);
        const inSync = book !== null && st !== null && st.event.status === 'in_sync';
        const before = `${m.inSync}|${m.version}`;
        if (inSync && book !== null) {
          if (book.version !== m.version || !m.inSync) {
            m.book.applySnapshot(book.event.bids, book.event.asks);
            m.version = book.version;
            m.updates++;
            m.lastUpdateMs = (this.#o.nowMs ?? Date.now)();
          }
        } else {
          m.book.clear();
          m.version = -1;
        }
        m.inSync = inSync;
        m.status = st?.event.status ?? (book === null ? 'syncing' : 'stale');
        m.reason = st?.event.reason ?? null;
        const held = m.held.splice(0);
        let broken = false;
        for (const d of held) {
          if (!this.#applyDelta(m, d)) {
            // A marker (or a change beyond this read): read again.
            if ((d.lastSeq ?? -1) > m.version) broken = true;
          }
        }
        if (before !== `${m.inSync}|${m.version}` || held.length > 0) this.#changed(m);
        if (!broken) break;
      }
    } catch (e) {
      this.#report(e as QobError);
    } finally {
      m.refreshing = false;
    }
    this.#o.metrics?.booksInSync.set(
      { service: 'gateway' },
      [...this.#mirrors.values()].filter((x) => x.inSync).length,
    );
  }

  #refs(): BookRef[] {
    return [...this.#mirrors.values()]
      .sort((a, b) => (a.venue === b.venue ? cmp(a.symbol, b.symbol) : cmp(a.venue, b.venue)))
      .map((m) => ({
        venue: m.venue,
        symbol: m.symbol,
        venueSymbol: m.symbol,
        status: m.status,
        reason: m.reason,
        inSync: m.inSync,
        book: m.book,
        updates: m.updates,
      }));
  }

  /** The version of the served top-N book (the stream sequence), -1 when not in sync. */
  version(venue: string, symbol: string): number {
    return this.#mirrors.get(`${venue}|${symbol}`)?.version ?? -1;
  }

  venues(): readonly VenueView[] {
    const by = new Map<string, string[]>();
    for (const m of this.#mirrors.values()) {
      let l = by.get(m.venue);
      if (l === undefined) by.set(m.venue, (l = []));
      l.push(m.symbol);
    }
    return [...by.keys()].sort().map((id) => ({
      id,
      kind: id === 'sim' ? 'sim' : 'live',
      state: 'connected',
      reason: 'served from the Redis cache',
      symbols: (by.get(id) ?? []).sort(),
    }));
  }

  books(): readonly BookRef[] {
    return this.#refs();
  }

  book(venue: string, symbol: string): BookRef | undefined {
    return this.#refs().find((b) => b.venue === venue && b.symbol === symbol);
  }

  status(): MarketStatus {
    const now = (this.#o.nowMs ?? Date.now)();
    const refs = [...this.#mirrors.values()];
    return {
      tsMs: now,
      venues: this.venues().map((v) => {
        const mine = refs.filter((m) => m.venue === v.id);
        return {
          venue: v.id,
          kind: v.kind,
          state: v.state,
          reason: v.reason,
          unreachable: false,
          retryInMs: null,
          epoch: null,
          tries: 0,
          frames: 0,
          framesPerSec: 0,
          books: mine.length,
          booksInSync: mine.filter((m) => m.inSync).length,
        };
      }),
      books: this.#refs().map((r) => {
        const last = (this.#mirrors.get(`${r.venue}|${r.symbol}`) as Mirror).lastUpdateMs;
        return bookStatusOfRef(r, last === null ? null : Math.max(0, now - last));
      }),
    };
  }

  readiness(): Readiness {
    if (this.#closed) return { ready: false, reason: 'closed' };
    const n = this.#mirrors.size;
    const inSync = [...this.#mirrors.values()].filter((m) => m.inSync).length;
    return { ready: true, reason: `subscribed to the cache; ${inSync} of ${n} books in sync` };
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#sub?.close();
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
