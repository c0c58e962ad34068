/**
 * The dashboard's live feed: the repository's WebSocket client (`QobWsClient`, src/client/ws-client.ts,
 * docs/WS_PROTOCOL.md) writing into the `MarketStore`. The client keeps each book from snapshot + deltas,
 * checks sequences (a gap resubscribes and brings a fresh snapshot), answers heartbeats and reconnects,
 * resubscribing every channel. This feed subscribes to `status` and to the selected market's book,
 * trades and candles channels, and moves those subscriptions when the selection changes.
 */
import { QobWsClient, type WebSocketLike } from '@qob/ws-client';
import { bookChannel, candlesChannel, type MarketStore, type Selection, tradesChannel } from './store.ts';

export const BOOK_DEPTH = 50;

export class MarketFeed {
  private readonly store: MarketStore;
  readonly url: string;
  private client: QobWsClient | undefined;
  private socket: WebSocket | undefined;
  private readonly offs: Array<() => void> = [];
  /** Resubscriptions after a sequence gap (a statistic). */
  gaps = 0;

  constructor(store: MarketStore, url: string) {
    this.store = store;
    this.url = url;
  }

  start(): void {
    if (this.client !== undefined) return;
    const c = new QobWsClient({
      url: this.url,
      reconnectMaxMs: 5000,
      // The browser's WebSocket, remembered so `dropSocket` can fail it the way a network would.
      createSocket: (url) => {
        const ws = new WebSocket(url);
        this.socket = ws;
        return ws as unknown as WebSocketLike;
      },
    });
    this.client = c;
    const store = this.store;
    this.offs.push(
      c.on('open', () => {
        store.setConnection({ state: 'open', opens: store.getSnapshot().connection.opens + 1, lastError: undefined });
      }),
      c.on('close', (ev) => {
        store.setConnection({
          state: ev.willReconnect ? 'reconnecting' : 'closed',
          lastError: `socket closed (${ev.code}${ev.reason === '' ? '' : `: ${ev.reason}`})`,
        });
      }),
      c.on('gap', () => {
        this.gaps++;
      }),
      c.on('error', (e) => {
        if (e.channel !== undefined && c.subscriptions.includes(e.channel)) {
          store.setChannelError(`${e.channel}: ${e.code}: ${e.message}`);
        }
      }),
      c.on('book', (ev) => {
        const book = store.book;
        if (book === undefined || ev.channel !== book.channel) return;
        const b = ev.book;
        book.replace(b.bids, b.asks, { status: b.status, tsMs: b.tsMs }, b.seq, ev.kind === 'snapshot', Date.now());
        store.lastMsgMs = Date.now();
      }),
      c.on('consolidated', (ev) => {
        const book = store.book;
        if (book === undefined || ev.channel !== book.channel) return;
        const b = ev.book;
        book.replace(
          b.bids,
          b.asks,
          { status: b.status, tsMs: b.tsMs, excluded: b.excluded },
          b.seq,
          ev.kind === 'snapshot',
          Date.now(),
        );
        store.lastMsgMs = Date.now();
      }),
      c.on('trades', (ev) => {
        if (ev.channel !== tradesChannel(store.selection)) return;
        store.addTrades({ trades: ev.trades }, ev.kind === 'snapshot', Date.now());
        store.lastMsgMs = Date.now();
      }),
      c.on('candles', (ev) => {
        if (ev.channel !== candlesChannel(store.selection)) return;
        store.addCandles({ candles: ev.candles }, ev.kind === 'snapshot');
        store.lastMsgMs = Date.now();
      }),
      c.on('status', (ev) => {
        store.setStatus(ev.status, Date.now());
        store.lastMsgMs = Date.now();
      }),
    );
    this.sync();
  }

  select(selection: Selection): void {
    this.store.select(selection);
    this.sync();
  }

  private wanted(): string[] {
    const s = this.store.selection;
    return ['status', bookChannel(s), tradesChannel(s), candlesChannel(s)].filter((c): c is string => c !== undefined);
  }

  /** Brings the client's subscriptions to what the selection needs (the client replays them on reconnect). */
  private sync(): void {
    const c = this.client;
    if (c === undefined) return;
    const want = new Set(this.wanted());
    for (const ch of c.subscriptions) if (!want.has(ch)) c.unsubscribe(ch);
    const have = new Set(c.subscriptions);
    for (const ch of want) {
      if (have.has(ch)) continue;
      c.subscribe(ch, ch.startsWith('book.') ? { depth: BOOK_DEPTH } : {});
    }
  }

  /** Test and debugging hook: closes the current socket as a dropped connection; the client reconnects. */
  dropSocket(): void {
    this.socket?.close(4001, 'dropped by the dashboard (test hook)');
  }

  /** Idempotent. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.client?.close();
    this.client = undefined;
    this.store.setConnection({ state: 'closed' });
  }
}
