/**
 * The `/ws` live market-data API (docs/WS_PROTOCOL.md) as a Fastify plugin on @fastify/websocket.
 *
 * Publishing is on a tick (default 50 ms): every stream with subscribers reads the platform, diffs against
 * what it last published and encodes its message once. Connections holding the same set of channels (and the
 * same framing: one frame per message, or batched, `?batch=1`) form a group; a group's bytes for the tick
 * (the WebSocket frames, built by hand, unmasked) are built once and the same Buffer is written to every
 * member's TCP socket: one write per connection per tick, no per-connection encoding or framing. Each tick's
 * fan-out starts at a different connection (a stride of about 0.618 of them further than the last), so no
 * connection is always the last one served.
 * Each connection's send buffer is bounded: a connection over `maxBufferedBytes` at the start of a tick has
 * the channels published in that tick conflated (their deltas skipped) and gets one fresh snapshot per
 * conflated channel once the buffer drained below half the limit; a connection that stays over the limit for
 * `slowTimeoutMs` (or goes over `hardLimitFactor` times the limit) is closed with reason "too slow".
 * Heartbeats both ways: the server pings, and a client silent for `heartbeatTimeoutMs` is closed. Each
 * connection is pinged once per period, at its own phase of it (spread over the period when connected), so the
 * pings of thousands of connections do not all go out in one turn of the event loop and hold up a tick.
 */

import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { type ErrorCode, isQobError, type QobError, qobError } from '../../core/errors.ts';
import type { MarketDataSource } from '../source.ts';
import { batchFrame, batchParts, textFrame } from './frame.ts';
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
  /** WebSocket frames sent (a batch frame counts once). */
  readonly framesSent: number;
  /** Messages sent (each message of a batch frame counts). */
  readonly messagesSent: number;
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

/** The heartbeat timer runs this many times per ping period; each run pings the connections then due. */
const HEARTBEAT_SLICES = 16;

export const CLOSE_HEARTBEAT = 4000;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_SHUTDOWN = 1001;

interface Stream {
  readonly key: string;
  readonly channel: string;
  readonly state: StreamState;
  seq: number;
  readonly subscribers: Set<Conn>;
  /** Snapshot message (UTF-8 JSON) at `snapshotSeq`, built once per seq and shared by every subscriber. */
  snapshotMsg: Buffer | undefined;
  snapshotSeq: number;
  /** The tick in which the stream last published, and that publication: its message and (lazily) its frame. */
  pubTick: number;
  pubMsg: Buffer | undefined;
  pubFrame: Buffer | undefined;
}

/** Connections holding the same channels with the same framing share the bytes of each tick. */
interface Group {
  readonly key: string;
  readonly batch: boolean;
  readonly streams: readonly Stream[];
  members: number;
  /** The tick `bytes` were built for; `frames` and `messages` they hold. */
  tick: number;
  bytes: Buffer | undefined;
  frames: number;
  messages: number;
}

interface Conn {
  readonly socket: WebSocket;
  /** The TCP socket under `socket`: the tick's bytes are written to it directly (undefined if ws hid it). */
  readonly tcp: Duplex | undefined;
  /** Publications come as one batch frame per tick (`?batch=1`). */
  readonly batch: boolean;
  readonly subs: Map<string, Stream>;
  group: Group | undefined;
  readonly conflated: Set<Stream>;
  slowSinceMs: number | undefined;
  lastSeenMs: number;
  pingId: number;
  /** When this connection's next ping is due (epoch ms). */
  nextPingMs: number;
  /** Closing or dropped: nothing more is sent and its messages are ignored. */
  closing: boolean;
}

const OPEN = 1;

/** `?batch=1` (or `true`) on the upgrade request: publications are batched (docs/WS_PROTOCOL.md). */
function wantsBatch(query: unknown): boolean {
  const b = (query as Record<string, unknown> | null | undefined)?.batch;
  return b === '1' || b === 'true';
}

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
  const pingEveryMs = Math.min(heartbeatMs, heartbeatTimeoutMs);
  const maxChannels = options.maxChannels ?? 200;
  const closeGraceMs = options.closeGraceMs ?? 2000;
  const now = options.now ?? Date.now;

  const tape = new Tape(options.tape);
  const streams = new Map<string, Stream>();
  const groups = new Map<string, Group>();
  const conns = new Set<Conn>();
  /**
   * `conns` in fan-out order. Dropped connections (`closing`) leave it at the next publishing tick, or at once
   * when they outnumber the live ones, so it stays bounded on a quiet market.
   */
  let order: Conn[] = [];
  let droppedInOrder = 0;
  /** Where the next publishing tick's fan-out starts in `order`. */
  let fanStart = 0;
  /** Connections with conflated channels or over the buffer limit: checked even on ticks that publish nothing. */
  const watched = new Set<Conn>();
  const stats = { framesSent: 0, messagesSent: 0, conflations: 0, slowDisconnects: 0, heartbeatTimeouts: 0 };
  let closed = false;
  /** Connections accepted so far (spreads their ping phases). */
  let connected = 0;
  /** Number of the current (or last) tick; a stream's `pubTick` equal to it published in this tick. */
  let tickNo = 0;

  const unsubscribeTrades = source.onTrades?.((batch) => tape.add(batch));

  /** Sends a control frame (one JSON message) through ws. */
  function sendObj(conn: Conn, msg: unknown): void {
    if (conn.socket.readyState !== OPEN) return;
    conn.socket.send(JSON.stringify(msg));
    stats.framesSent++;
    stats.messagesSent++;
  }

  /** Writes pre-framed bytes holding `frames` frames and `messages` messages to the connection's socket. */
  function writeBytes(conn: Conn, bytes: Buffer, frames: number, messages: number): void {
    (conn.tcp as Duplex).write(bytes);
    stats.framesSent += frames;
    stats.messagesSent += messages;
  }

  /** Sends encoded messages (one frame each, or one batch frame) with one socket write. */
  function sendMessages(conn: Conn, msgs: readonly Buffer[]): void {
    if (msgs.length === 0 || conn.socket.readyState !== OPEN) return;
    const batch = conn.batch && msgs.length > 1;
    if (conn.tcp === undefined) {
      if (batch) conn.socket.send(Buffer.concat(batchParts(msgs)), { binary: false });
      else for (const m of msgs) conn.socket.send(m, { binary: false });
    } else if (batch) {
      conn.tcp.write(batchFrame(msgs));
    } else {
      conn.tcp.write(msgs.length === 1 ? textFrame(msgs) : Buffer.concat(msgs.map((m) => textFrame([m]))));
    }
    stats.framesSent += batch ? 1 : msgs.length;
    stats.messagesSent += msgs.length;
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

  function snapshotMsg(s: Stream): Buffer {
    if (s.snapshotMsg === undefined || s.snapshotSeq !== s.seq) {
      const msg = { type: 'snapshot', channel: s.channel, seq: s.seq, data: s.state.snapshot() };
      s.snapshotMsg = Buffer.from(JSON.stringify(msg), 'utf8');
      s.snapshotSeq = s.seq;
    }
    return s.snapshotMsg;
  }

  function pubFrame(s: Stream): Buffer {
    s.pubFrame ??= textFrame([s.pubMsg as Buffer]);
    return s.pubFrame;
  }

  /** The group's bytes for this tick: what its streams published, framed once. */
  function groupBytes(g: Group): Buffer | undefined {
    if (g.tick === tickNo) return g.bytes;
    g.tick = tickNo;
    const published = g.streams.filter((s) => s.pubTick === tickNo);
    g.messages = published.length;
    if (published.length === 0) g.bytes = undefined;
    else if (g.batch && published.length > 1) {
      g.bytes = batchFrame(published.map((s) => s.pubMsg as Buffer));
      g.frames = 1;
    } else {
      g.bytes = published.length === 1 ? pubFrame(published[0] as Stream) : Buffer.concat(published.map(pubFrame));
      g.frames = published.length;
    }
    return g.bytes;
  }

  /** Moves `conn` to the group of its current channels. */
  function regroup(conn: Conn): void {
    const old = conn.group;
    conn.group = undefined;
    if (old !== undefined && --old.members === 0) groups.delete(old.key);
    if (conn.subs.size === 0 || conn.closing) return;
    const list = [...new Set(conn.subs.values())].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const key = `${conn.batch ? 'b' : 'f'}\n${list.map((s) => s.key).join('\n')}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { key, batch: conn.batch, streams: list, members: 0, tick: -1, bytes: undefined, frames: 0, messages: 0 };
      groups.set(key, g);
    }
    g.members++;
    conn.group = g;
  }

  function closeConn(conn: Conn, reason: string, code: number): void {
    if (conn.closing) return;
    sendObj(conn, { type: 'closing', reason });
    conn.closing = true;
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
    regroup(conn);
    conn.closing = true;
    if (conns.delete(conn) && ++droppedInOrder > 64 && droppedInOrder > conns.size) compactOrder();
    watched.delete(conn);
  }

  function compactOrder(): void {
    order = order.filter((c) => !c.closing);
    droppedInOrder = 0;
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
      s = {
        key,
        channel,
        state,
        seq: 0,
        subscribers: new Set(),
        snapshotMsg: undefined,
        snapshotSeq: -1,
        pubTick: -1,
        pubMsg: undefined,
        pubFrame: undefined,
      };
      streams.set(key, s);
    }
    if (previous !== undefined && previous !== s) leave(conn, previous);
    conn.conflated.delete(s);
    s.subscribers.add(conn);
    conn.subs.set(channel, s);
    regroup(conn);
    sendObj(conn, isBook ? { type: 'subscribed', channel, depth } : { type: 'subscribed', channel });
    sendMessages(conn, [snapshotMsg(s)]);
  }

  function unsubscribe(conn: Conn, channel: string): void {
    const s = conn.subs.get(channel);
    if (s === undefined) {
      throw qobError('QOB_ERR_NOT_FOUND', `channel "${channel}" is not subscribed`, { channel });
    }
    conn.subs.delete(channel);
    leave(conn, s);
    regroup(conn);
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

  /**
   * One connection's share of a tick: its group's bytes (or, with channels conflated, its own), then the
   * buffer check: conflated channels get their snapshot once drained; too slow connections are closed.
   */
  function publishTo(conn: Conn, nowMs: number): void {
    if (conn.closing || conn.socket.readyState !== OPEN) return;
    const g = conn.group;
    if (g !== undefined) {
      if (conn.socket.bufferedAmount > maxBuffered) {
        for (const s of g.streams) {
          if (s.pubTick === tickNo && !conn.conflated.has(s)) {
            conn.conflated.add(s);
            stats.conflations++;
          }
        }
        watched.add(conn);
      } else if (conn.conflated.size === 0 && conn.tcp !== undefined) {
        const bytes = groupBytes(g);
        if (bytes !== undefined) writeBytes(conn, bytes, g.frames, g.messages);
      } else {
        const msgs: Buffer[] = [];
        for (const s of g.streams) if (s.pubTick === tickNo && !conn.conflated.has(s)) msgs.push(s.pubMsg as Buffer);
        sendMessages(conn, msgs);
      }
    }
    const buffered = conn.socket.bufferedAmount;
    if (buffered > maxBuffered) {
      watched.add(conn);
      conn.slowSinceMs ??= nowMs;
      if (buffered > hardLimit || nowMs - conn.slowSinceMs >= slowTimeoutMs) {
        stats.slowDisconnects++;
        closeConn(conn, 'too slow', CLOSE_TOO_SLOW);
      }
      return;
    }
    conn.slowSinceMs = undefined;
    if (conn.conflated.size > 0 && buffered <= maxBuffered / 2) {
      const msgs: Buffer[] = [];
      for (const s of conn.conflated) msgs.push(snapshotMsg(s));
      conn.conflated.clear();
      sendMessages(conn, msgs);
    }
    if (conn.conflated.size === 0) watched.delete(conn);
  }

  function tick(): void {
    if (closed) return;
    const nowMs = now();
    tickNo++;
    let published = 0;
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
      published++;
      s.pubTick = tickNo;
      s.pubFrame = undefined;
      s.pubMsg =
        p.type === 'snapshot'
          ? snapshotMsg(s)
          : Buffer.from(JSON.stringify({ type: 'delta', channel: s.channel, seq: s.seq, data: p.data }), 'utf8');
    }
    if (published === 0) {
      for (const conn of watched) publishTo(conn, nowMs);
      return;
    }
    if (droppedInOrder > 0) compactOrder();
    // Compaction makes a new array: this fan-out walks the one it started with (publishTo skips the closed).
    const list = order;
    const n = list.length;
    if (n === 0) return;
    const start = fanStart % n;
    fanStart = start + Math.max(1, Math.round(n * 0.618));
    for (let i = start; i < n; i++) publishTo(list[i] as Conn, nowMs);
    for (let i = 0; i < start; i++) publishTo(list[i] as Conn, nowMs);
  }

  function heartbeat(): void {
    const nowMs = now();
    for (const conn of conns) {
      if (nowMs - conn.lastSeenMs >= heartbeatTimeoutMs) {
        stats.heartbeatTimeouts++;
        closeConn(conn, 'heartbeat timeout', CLOSE_HEARTBEAT);
        continue;
      }
      if (nowMs < conn.nextPingMs) continue;
      conn.nextPingMs = nowMs + pingEveryMs;
      sendObj(conn, { type: 'ping', id: ++conn.pingId, ts: nowMs });
    }
  }

  const tickTimer = tickMs > 0 ? setInterval(tick, tickMs) : undefined;
  tickTimer?.unref();
  const hbTimer =
    heartbeatMs > 0 ? setInterval(heartbeat, Math.max(1, Math.floor(pingEveryMs / HEARTBEAT_SLICES))) : undefined;
  hbTimer?.unref();

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024, perMessageDeflate: false } });
    scope.get(path, { websocket: true, config: { permission: 'market:read' } }, (socket, req) => {
      if (closed) {
        socket.send(JSON.stringify({ type: 'closing', reason: 'server shutting down' }));
        socket.close(CLOSE_SHUTDOWN, 'server shutting down');
        return;
      }
      // ws has no public access to its socket; its maintainers point to the raw socket (websockets/ws#1999).
      // Without compression ws writes every frame to it at once, so frames written here keep their order.
      const tcp = (socket as unknown as { _socket?: Duplex })._socket;
      const conn: Conn = {
        socket,
        tcp: typeof tcp?.write === 'function' ? tcp : undefined,
        batch: wantsBatch(req.query),
        subs: new Map(),
        group: undefined,
        conflated: new Set(),
        slowSinceMs: undefined,
        lastSeenMs: now(),
        pingId: 0,
        // The first ping comes at a phase of the period of its own (golden-ratio spread over connections).
        nextPingMs: now() + pingEveryMs * ((++connected * 0.6180339887) % 1),
        closing: false,
      };
      conns.add(conn);
      order.push(conn);
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
    for (const conn of conns) closeConn(conn, 'server shutting down', CLOSE_SHUTDOWN);
    order = [];
    droppedInOrder = 0;
    streams.clear();
    groups.clear();
    watched.clear();
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
