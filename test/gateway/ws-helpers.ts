/**
 * Shared by the /ws tests: a MarketDataSource over the simulated venue, a listening server, raw sockets and
 * what the tests do with them (subscribe and wait for the snapshot, settle on a pong, stop reading).
 */
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import type { BookRef } from '../../src/gateway/source.ts';
import {
  onSimTrades,
  registerWsApi,
  type WsApi,
  type WsApiOptions,
  type WsMarketSource,
} from '../../src/gateway/ws/index.ts';
import { SimVenue } from '../../src/platform.ts';

export function simSource(sim: SimVenue): WsMarketSource {
  const refs = (): BookRef[] =>
    sim.symbols.map((symbol) => {
      const t = sim.handler.book(symbol);
      return {
        venue: 'sim',
        symbol,
        venueSymbol: symbol,
        status: t?.status ?? 'syncing',
        reason: null,
        inSync: t?.inSync ?? false,
        book: t?.book,
        updates: t?.updates ?? 0,
      };
    });
  return {
    venues: () => [{ id: 'sim', kind: 'sim', state: 'connected', reason: 'in process', symbols: sim.symbols }],
    books: refs,
    book: (venue, symbol) => (venue === 'sim' ? refs().find((r) => r.symbol === symbol) : undefined),
    status: () => ({
      tsMs: sim.exchange.nowMs,
      venues: [],
      books: sim.status(sim.exchange.nowMs).map((b) => ({ ...b })),
    }),
    readiness: () => ({ ready: true, reason: 'sim' }),
    onTrades: (listener) => onSimTrades(sim.exchange, listener),
  };
}

export interface Server {
  readonly app: FastifyInstance;
  readonly api: WsApi;
  readonly sim: SimVenue;
  readonly url: string;
  close(): Promise<void>;
}

/** A bare Fastify app with /ws over a fresh sim venue, listening on a free port; ticks are manual by default. */
export async function startServer(options: WsApiOptions = {}, symbols = ['BTC-USDT', 'ETH-USDT']): Promise<Server> {
  const sim = new SimVenue({ symbols, seed: 7 });
  sim.step(20);
  const app = Fastify({ logger: false });
  const api = registerWsApi(app, simSource(sim), { tickMs: 0, heartbeatMs: 0, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return {
    app,
    api,
    sim,
    url: `ws://127.0.0.1:${addr.port}/ws`,
    async close() {
      await app.close();
      sim.close();
    },
  };
}

/** A raw `ws` socket that records every parsed frame. */
export interface RawClient {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  /** Resolves with the first recorded frame (from index `from`) that satisfies `pred`. */
  next(pred: (f: Record<string, unknown>) => boolean, from?: number): Promise<Record<string, unknown>>;
  send(msg: unknown): void;
  readonly closed: Promise<{ code: number; reason: string }>;
}

export async function rawClient(url: string): Promise<RawClient> {
  const ws = new WebSocket(url);
  const frames: Record<string, unknown>[] = [];
  const waiters: {
    pred: (f: Record<string, unknown>) => boolean;
    from: number;
    resolve: (f: Record<string, unknown>) => void;
  }[] = [];
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as Record<string, unknown>;
    frames.push(f);
    for (const w of [...waiters]) {
      if (w.pred(f)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    next(pred, from = 0) {
      const hit = frames.slice(from).find(pred);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ pred, from, resolve }));
    },
    send(msg) {
      ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    },
  };
}

/** The server book's top `depth` as `[price, size]` pairs, best first (what a client must hold). */
export function serverTop(sim: SimVenue, symbol: string, depth: number): { bids: string[][]; asks: string[][] } {
  const t = sim.handler.book(symbol);
  assert.ok(t?.inSync, `${symbol} is in sync on the server`);
  const side = (s: 'bid' | 'ask') => t.book.levels(s, depth).map((l) => [l.price, l.size]);
  return { bids: side('bid'), asks: side('ask') };
}

/**
 * Subscribes `raw` to each channel in order (book channels at `depth` when given) and resolves with the
 * snapshot of the last one.
 */
export async function subscribe(
  raw: RawClient,
  channels: readonly string[],
  depth?: number,
): Promise<Record<string, unknown>> {
  for (const channel of channels)
    raw.send(depth === undefined ? { op: 'subscribe', channel } : { op: 'subscribe', channel, depth });
  const last = channels.at(-1);
  return raw.next((f) => f.type === 'snapshot' && f.channel === last);
}

/** The sim and consolidated book channels of each symbol, in that order. */
export function bookChannels(symbols: readonly string[]): string[] {
  return symbols.flatMap((sym) => [`book.sim.${sym}`, `book.consolidated.${sym}`]);
}

/** Resolves once the server answered a ping with `id`: every frame it sent before has arrived. */
export async function settleRaw(raw: RawClient, id: string | number): Promise<void> {
  raw.send({ op: 'ping', id });
  await raw.next((f) => f.type === 'pong' && f.id === id);
}

/** Stops reading `raw` at the TCP level: the kernel buffers fill, then the server's send buffer grows. */
export function pauseReading(raw: RawClient): { resume(): void } {
  const tcp = (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  tcp.pause();
  return { resume: () => tcp.resume() };
}
