/**
 * The `/ws` live market-data API (docs/WS_PROTOCOL.md) as a Fastify plugin on @fastify/websocket.
 *
 * Publishing is on a tick (default 50 ms): every stream with subscribers reads the platform, diffs against
 * what it last published and serializes one frame, encoded once and sent as the same bytes (a text frame) to
 * every subscriber. Each connection's TCP socket is corked from its first frame of a tick until the tick's
 * sends are done, so a tick costs one `writev` per connection, not one per frame. Each
 * connection's send buffer is bounded: over `maxBufferedBytes` its deltas are skipped (the channel is
 * conflated) and it gets one fresh snapshot per conflated channel once the buffer drained; a connection
 * that stays over the limit for `slowTimeoutMs` (or goes over `hardLimitFactor` times the limit) is closed
 * with reason "too slow". Heartbeats both ways: the server pings, and a client silent for
 * `heartbeatTimeoutMs` is closed.
 */

import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { type ErrorCode, isQobError, type QobError, qobError } from '../../core/errors.ts';
import type { MarketDataSource } from '../source.ts';
import { type ChannelSpec, DEFAULT_DEPTH, parseChannel, parseClientFrame } from './protocol.ts';
import {
  BookStream,
  CandlesStream,
  ConsolidatedStream,
  StatusStream,
  type StreamState,
  TradesStream,
} from './streams.ts';
import { Tape, type TapeOptions, type TradeBatch } from './tape.ts';

export { type ChannelSpec, parseChannel, parseClientFrame } from './protocol.ts';
export type { Candle, TradeBatch, WsTrade } from './tape.ts';

/** The platform's market data plus, optionally, its trade stream (trades and candles channels need it). */
export interface WsMarketSource extends MarketDataSource {
  /** Calls `listener` with every batch of trades; returns an unsubscribe function. */
  onTrades?(listener: (batch: TradeBatch) => void): () => void;
}

export interface WsApiOptions {
  /** Route path (default `/ws`). */
  readonly path?: string;
  /** Publish period in ms (default 50); 0: no timer, the owner calls `tick()`. */
  readonly tickMs?: number;
  /** Per-connection send buffer limit in bytes before its channels are conflated (default 256 KiB). */
  readonly maxBufferedBytes?: number;
  /** A connection over the limit this long is closed as too slow (default 5000 ms). */
  readonly slowTimeoutMs?: number;
  /** A connection over `hardLimitFactor * maxBufferedBytes` is closed at once (default 8). */
  readonly hardLimitFactor?: number;
  /** Server ping period (default 15000 ms); 0 disables heartbeats. */
  readonly heartbeatMs?: number;
  /** A connection silent this long is closed (default 3 * heartbeatMs). */
  readonly heartbeatTimeoutMs?: number;
  /** Channels one connection may hold (default 200). */
  readonly maxChannels?: number;
  /** How long a closing connection may drain before it is terminated (default 2000 ms). */
  readonly closeGraceMs?: number;
  readonly tape?: TapeOptions;
  /** Epoch-ms clock for `tsMs` and timeouts (default Date.now). */
  readonly now?: () => number;
}

export interface WsStats {
  readonly clients: number;
  readonly streams: number;
  readonly subscriptions: number;
  readonly framesSent: number;
  /** Times a channel of a slow connection was conflated (its deltas replaced by a later snapshot). */
  readonly conflations: number;
  /** Connections closed as too slow. */
  readonly slowDisconnects: number;
  readonly heartbeatTimeouts: number;
}

export interface WsApi {
  /** Publishes once (what the timer does every `tickMs`). */
  tick(): void;
  stats(): WsStats;
  readonly tape: Tape;
  /** Closes every connection ("server shutting down") and stops the timers. Idempotent. */
  close(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The `/ws` API's handle (stats, tick, close), once `registerWsApi` ran on this instance. */
    qobWs?: WsApi;
  }
}

export const CLOSE_HEARTBEAT = 4000;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_SHUTDOWN = 1001;

interface Stream {
  readonly key: string;
  readonly channel: string;
  readonly state: StreamState;
  seq: number;
  readonly subscribers: Set<Conn>;
  /** Snapshot frame (UTF-8 JSON) at `snapshotSeq`, built once per seq and shared by every subscriber. */
  snapshotFrame: Buffer | undefined;
  snapshotSeq: number;
}

interface Conn {
  readonly socket: WebSocket;
  /** The TCP socket under `socket`, corked during a tick's sends (undefined if ws did not expose it). */
  readonly tcp: Duplex | undefined;
  /** While corked in a tick: `bufferedAmount` when the tick's first frame was about to be sent. */
  tickBacklog: number | undefined;
  readonly subs: Map<string, Stream>;
  readonly conflated: Set<Stream>;
  slowSinceMs: number | undefined;
  lastSeenMs: number;
  pingId: number;
  closing: boolean;
}

const OPEN = 1;

/**
 * Registers `/ws` on `app` (in its own encapsulated context, with @fastify/websocket). Timers start at once
 * (unref'd) and stop when the app closes.
 */
export function registerWsApi(app: FastifyInstance, source: WsMarketSource, options: WsApiOptions = {}): WsApi {
  const path = options.path ?? '/ws';
  const tickMs = options.tickMs ?? 50;
  const maxBuffered = options.maxBufferedBytes ?? 256 * 1024;
  const slowTimeoutMs = options.slowTimeoutMs ?? 5000;
  const hardLimit = maxBuffered * (options.hardLimitFactor ?? 8);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 3 * heartbeatMs;
  const maxChannels = options.maxChannels ?? 200;
  const closeGraceMs = options.closeGraceMs ?? 2000;
  const now = options.now ?? Date.now;

  const tape = new Tape(options.tape);
  const streams = new Map<string, Stream>();
  const conns = new Set<Conn>();
  const stats = { framesSent: 0, conflations: 0, slowDisconnects: 0, heartbeatTimeouts: 0 };
  let closed = false;

  const unsubscribeTrades = source.onTrades?.((batch) => tape.add(batch));

  /** Connections corked in the current tick (uncorked once its sends are done). */
  const corked: Conn[] = [];

  /** Sends a frame: a string, or a pre-encoded JSON Buffer sent as a text frame (same bytes on the wire). */
  function send(conn: Conn, frame: string | Buffer): void {
    if (conn.socket.readyState !== OPEN) return;
    if (typeof frame === 'string') conn.socket.send(frame);
    else conn.socket.send(frame, { binary: false });
    stats.framesSent++;
  }

  function uncorkAll(): void {
    for (const conn of corked) {
      conn.tickBacklog = undefined;
      conn.tcp?.uncork();
    }
    corked.length = 0;
  }

  function sendObj(conn: Conn, msg: unknown): void {
    send(conn, JSON.stringify(msg));
  }

  function sendError(conn: Conn, e: QobError, channel?: string): void {
    sendObj(conn, {
      type: 'error',
      code: e.code,
      message: e.message,
      ...(channel === undefined ? {} : { channel }),
      context: e.context,
    });
  }

  function snapshotFrame(s: Stream): Buffer {
    if (s.snapshotFrame === undefined || s.snapshotSeq !== s.seq) {
      const msg = { type: 'snapshot', channel: s.channel, seq: s.seq, data: s.state.snapshot() };
      s.snapshotFrame = Buffer.from(JSON.stringify(msg), 'utf8');
      s.snapshotSeq = s.seq;
    }
    return s.snapshotFrame;
  }

  function closeConn(conn: Conn, reason: string, code: number): void {
    if (conn.closing) return;
    conn.closing = true;
    sendObj(conn, { type: 'closing', reason });
    dropConn(conn);
    try {
      conn.socket.close(code, reason);
    } catch {
      // Already closed.
    }
    setTimeout(() => conn.socket.terminate(), closeGraceMs).unref();
  }

  function dropConn(conn: Conn): void {
    for (const s of conn.subs.values()) leave(conn, s);
    conn.subs.clear();
    conn.conflated.clear();
    conns.delete(conn);
  }

  function leave(conn: Conn, s: Stream): void {
    s.subscribers.delete(conn);
    conn.conflated.delete(s);
    if (s.subscribers.size === 0) streams.delete(s.key);
  }

  function knownVenue(venue: string): void {
    if (!source.venues().some((v) => v.id === venue)) {
      throw qobError('QOB_ERR_UNKNOWN_VENUE', `no venue "${venue}"`, { venue });
    }
  }

  function knownBook(venue: string, symbol: string): void {
    knownVenue(venue);
    if (source.book(venue, symbol) === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `venue "${venue}" does not track "${symbol}"`, { venue, symbol });
    }
  }

  function createState(spec: ChannelSpec, depth: number, nowMs: number): StreamState {
    switch (spec.kind) {
      case 'book':
        knownBook(spec.venue, spec.symbol);
        return new BookStream(source, spec.venue, spec.symbol, depth, nowMs);
      case 'consolidated':
        if (!source.books().some((b) => b.symbol === spec.symbol)) {
          throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `no venue tracks "${spec.symbol}"`, { symbol: spec.symbol });
        }
        return new ConsolidatedStream(source, spec.symbol, depth, nowMs);
      case 'trades':
        knownBook(spec.venue, spec.symbol);
        return new TradesStream(tape, spec.venue, spec.symbol);
      case 'candles':
        knownBook(spec.venue, spec.symbol);
        return new CandlesStream(tape, spec.venue, spec.symbol, spec.interval);
      case 'status':
        return new StatusStream(source, nowMs);
    }
  }

  function subscribe(conn: Conn, channel: string, requestedDepth: number | undefined): void {
    const spec = parseChannel(channel);
    const isBook = spec.kind === 'book' || spec.kind === 'consolidated';
    if (!isBook && requestedDepth !== undefined) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', '"depth" applies to book channels only', { channel });
    }
    const depth = isBook ? (requestedDepth ?? DEFAULT_DEPTH) : 0;
    const previous = conn.subs.get(channel);
    if (previous === undefined && conn.subs.size >= maxChannels) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `a connection may hold at most ${maxChannels} channels`, {
        channel,
        limit: maxChannels,
      });
    }
    const key = isBook ? `${channel}#${depth}` : channel;
    let s = streams.get(key);
    if (s === undefined) {
      const state = createState(spec, depth, now());
      s = { key, channel, state, seq: 0, subscribers: new Set(), snapshotFrame: undefined, snapshotSeq: -1 };
      streams.set(key, s);
    }
    if (previous !== undefined && previous !== s) leave(conn, previous);
    conn.conflated.delete(s);
    s.subscribers.add(conn);
    conn.subs.set(channel, s);
    sendObj(conn, isBook ? { type: 'subscribed', channel, depth } : { type: 'subscribed', channel });
    send(conn, snapshotFrame(s));
  }

  function unsubscribe(conn: Conn, channel: string): void {
    const s = conn.subs.get(channel);
    if (s === undefined) {
      throw qobError('QOB_ERR_NOT_FOUND', `channel "${channel}" is not subscribed`, { channel });
    }
    conn.subs.delete(channel);
    leave(conn, s);
    sendObj(conn, { type: 'unsubscribed', channel });
  }

  function onMessage(conn: Conn, raw: unknown, isBinary: boolean): void {
    conn.lastSeenMs = now();
    if (conn.closing) return;
    let channel: string | undefined;
    try {
      if (isBinary) throw qobError('QOB_ERR_MALFORMED_MESSAGE', 'binary frames are not accepted', {});
      const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
      const msg = parseClientFrame(text);
      switch (msg.op) {
        case 'subscribe':
          channel = msg.channel;
          subscribe(conn, msg.channel, msg.depth);
          break;
        case 'unsubscribe':
          channel = msg.channel;
          unsubscribe(conn, msg.channel);
          break;
        case 'ping':
          sendObj(conn, { type: 'pong', id: msg.id });
          break;
        case 'pong':
          break;
      }
    } catch (e) {
      const err = isQobError(e) ? e : qobError('QOB_ERR_INTERNAL', 'the message could not be handled', {}, e);
      sendError(conn, err, channel === undefined ? undefined : channel.slice(0, 200));
    }
  }

  function deliver(conn: Conn, s: Stream, frame: Buffer): void {
    if (conn.closing || conn.conflated.has(s)) return;
    if (conn.tickBacklog === undefined && conn.tcp !== undefined && conn.socket.readyState === OPEN) {
      conn.tickBacklog = conn.socket.bufferedAmount;
      conn.tcp.cork();
      corked.push(conn);
    }
    // While corked, bufferedAmount also counts this tick's frames. With a backlog at the tick's start the
    // writes would have queued anyway, so it is exact; without one it is an upper bound, and only when it
    // crosses the limit are the frames flushed to the kernel to read the real backlog.
    let buffered = conn.socket.bufferedAmount;
    if (buffered > maxBuffered && conn.tickBacklog === 0 && conn.tcp !== undefined) {
      conn.tcp.uncork();
      buffered = conn.socket.bufferedAmount;
      conn.tcp.cork();
      conn.tickBacklog = buffered;
    }
    if (buffered > maxBuffered) {
      conn.conflated.add(s);
      stats.conflations++;
      return;
    }
    send(conn, frame);
  }

  /** After a publish: conflated channels get their snapshot once drained; too slow connections are closed. */
  function checkBuffers(nowMs: number): void {
    for (const conn of [...conns]) {
      const buffered = conn.socket.bufferedAmount;
      if (buffered > maxBuffered) {
        conn.slowSinceMs ??= nowMs;
        if (buffered > hardLimit || nowMs - conn.slowSinceMs >= slowTimeoutMs) {
          stats.slowDisconnects++;
          closeConn(conn, 'too slow', CLOSE_TOO_SLOW);
        }
        continue;
      }
      conn.slowSinceMs = undefined;
      if (conn.conflated.size > 0 && buffered <= maxBuffered / 2) {
        for (const s of conn.conflated) send(conn, snapshotFrame(s));
        conn.conflated.clear();
      }
    }
  }

  function tick(): void {
    if (closed) return;
    const nowMs = now();
    try {
      for (const s of streams.values()) {
        let p: ReturnType<StreamState['poll']>;
        try {
          p = s.state.poll(nowMs);
        } catch (e) {
          app.log.error({ err: e, channel: s.channel }, 'ws stream poll failed');
          continue;
        }
        if (p === undefined) continue;
        s.seq++;
        const frame =
          p.type === 'snapshot'
            ? snapshotFrame(s)
            : Buffer.from(JSON.stringify({ type: 'delta', channel: s.channel, seq: s.seq, data: p.data }), 'utf8');
        for (const conn of s.subscribers) deliver(conn, s, frame);
      }
    } finally {
      uncorkAll();
    }
    checkBuffers(nowMs);
  }

  function heartbeat(): void {
    const nowMs = now();
    for (const conn of [...conns]) {
      if (nowMs - conn.lastSeenMs >= heartbeatTimeoutMs) {
        stats.heartbeatTimeouts++;
        closeConn(conn, 'heartbeat timeout', CLOSE_HEARTBEAT);
        continue;
      }
      sendObj(conn, { type: 'ping', id: ++conn.pingId, ts: nowMs });
    }
  }

  const tickTimer = tickMs > 0 ? setInterval(tick, tickMs) : undefined;
  tickTimer?.unref();
  const hbTimer = heartbeatMs > 0 ? setInterval(heartbeat, Math.min(heartbeatMs, heartbeatTimeoutMs)) : undefined;
  hbTimer?.unref();

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });
    scope.get(path, { websocket: true, config: { permission: 'market:read' } }, (socket) => {
      if (closed) {
        socket.send(JSON.stringify({ type: 'closing', reason: 'server shutting down' }));
        socket.close(CLOSE_SHUTDOWN, 'server shutting down');
        return;
      }
      // ws has no public cork; its maintainers point to the raw socket (websockets/ws#1999).
      const tcp = (socket as unknown as { _socket?: Duplex })._socket;
      const conn: Conn = {
        socket,
        tcp: typeof tcp?.cork === 'function' ? tcp : undefined,
        tickBacklog: undefined,
        subs: new Map(),
        conflated: new Set(),
        slowSinceMs: undefined,
        lastSeenMs: now(),
        pingId: 0,
        closing: false,
      };
      conns.add(conn);
      socket.on('message', (raw, isBinary) => onMessage(conn, raw, isBinary));
      socket.on('close', () => dropConn(conn));
      socket.on('error', () => dropConn(conn));
    });
  });

  function close(): void {
    if (closed) return;
    closed = true;
    if (tickTimer !== undefined) clearInterval(tickTimer);
    if (hbTimer !== undefined) clearInterval(hbTimer);
    unsubscribeTrades?.();
    for (const conn of [...conns]) closeConn(conn, 'server shutting down', CLOSE_SHUTDOWN);
    streams.clear();
  }

  app.addHook('preClose', (done) => {
    close();
    done();
  });

  const api: WsApi = {
    tick,
    tape,
    close,
    stats() {
      let subscriptions = 0;
      for (const c of conns) subscriptions += c.subs.size;
      return { clients: conns.size, streams: streams.size, subscriptions, ...stats };
    },
  };
  if (!app.hasDecorator('qobWs')) app.decorate('qobWs', api);
  return api;
}

/** The catalogue codes the `/ws` API sends in error frames (docs/WS_PROTOCOL.md). */
export const WS_ERROR_CODES: readonly ErrorCode[] = [
  'QOB_ERR_MALFORMED_MESSAGE',
  'QOB_ERR_PROTOTYPE_POISONING',
  'QOB_ERR_UNKNOWN_MESSAGE',
  'QOB_ERR_INVALID_ARGUMENT',
  'QOB_ERR_UNKNOWN_VENUE',
  'QOB_ERR_UNKNOWN_INSTRUMENT',
  'QOB_ERR_NOT_FOUND',
];

export { onSimTrades } from './sim-trades.ts';
