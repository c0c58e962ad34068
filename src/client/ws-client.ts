/**
 * `QobWsClient`: the reference client of the gateway's `/ws` market-data protocol (docs/WS_PROTOCOL.md),
 * used by the tests and the dashboard. Runs in browsers and Node 22+ alike: only the global `WebSocket`,
 * timers and core/ (no node: imports).
 *
 * It keeps a local book per book channel from snapshot + deltas (exact decimal strings, sorted best first),
 * checks every channel's sequence and resubscribes on a gap, answers and sends heartbeats, and reconnects
 * with exponential backoff, resubscribing every channel (each gets a fresh snapshot). With `batch: true` it
 * asks for batched frames (`?batch=1`) and unpacks them: listeners see the same messages either way.
 */

/** A `[price, size]` level: exact decimal text. */
export type WsLevel = readonly [price: string, size: string];

export interface WsVenueShare {
  readonly venue: string;
  readonly price: string;
  readonly size: string;
}

export interface WsConsolidatedLevel {
  readonly price: string;
  readonly size: string;
  readonly venues: readonly WsVenueShare[];
}

export interface WsTradeMsg {
  readonly id: string;
  readonly price: string;
  readonly size: string;
  readonly side: 'buy' | 'sell';
  readonly tsMs: number;
}

export interface WsCandleMsg {
  readonly t: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly vwap: string;
  /** Sum of price x size over the candle's trades (VWAP = notional / volume), exact text. */
  readonly notional: string;
  readonly trades: number;
}

/** A venue book as the client holds it. */
export interface LocalBook {
  readonly channel: string;
  readonly seq: number;
  readonly bids: readonly WsLevel[];
  readonly asks: readonly WsLevel[];
  readonly status: string;
  readonly tsMs: number;
}

export interface LocalConsolidatedBook {
  readonly channel: string;
  readonly seq: number;
  readonly bids: readonly WsConsolidatedLevel[];
  readonly asks: readonly WsConsolidatedLevel[];
  readonly excluded: readonly { readonly venue: string; readonly status: string }[];
  readonly status: string;
  readonly tsMs: number;
}

/** Any frame the server sends (docs/WS_PROTOCOL.md). */
export type ServerMessage =
  | { readonly type: 'subscribed'; readonly channel: string; readonly depth?: number }
  | { readonly type: 'unsubscribed'; readonly channel: string }
  | { readonly type: 'snapshot' | 'delta'; readonly channel: string; readonly seq: number; readonly data: unknown }
  | { readonly type: 'ping'; readonly id: number | string; readonly ts?: number }
  | { readonly type: 'pong'; readonly id: number | string }
  | {
      readonly type: 'error';
      readonly code: string;
      readonly message: string;
      readonly channel?: string;
      readonly context?: Readonly<Record<string, unknown>>;
    }
  | { readonly type: 'closing'; readonly reason: string };

export type ServerError = Extract<ServerMessage, { type: 'error' }>;

/** A batched frame (connections opened with `?batch=1`): `n` messages of one tick, in order. */
interface BatchFrame {
  readonly type: 'batch';
  readonly n: number;
  readonly messages: readonly ServerMessage[];
}

export interface ClientEvents {
  open: { readonly reconnect: boolean };
  close: { readonly code: number; readonly reason: string; readonly willReconnect: boolean };
  /** A venue book changed (snapshot or delta applied). */
  book: { readonly channel: string; readonly kind: 'snapshot' | 'delta'; readonly book: LocalBook };
  consolidated: { readonly channel: string; readonly kind: 'snapshot' | 'delta'; readonly book: LocalConsolidatedBook };
  /** Snapshot: recent trades; delta: new trades (oldest first). */
  trades: { readonly channel: string; readonly kind: 'snapshot' | 'delta'; readonly trades: readonly WsTradeMsg[] };
  /** Snapshot: recent candles; delta: candles created or updated (replace the one with the same `t`). */
  candles: {
    readonly channel: string;
    readonly kind: 'snapshot' | 'delta';
    readonly interval: string;
    readonly candles: readonly WsCandleMsg[];
  };
  status: { readonly channel: string; readonly kind: 'snapshot' | 'delta'; readonly status: unknown };
  /** A delta did not follow the previous seq: the client resubscribed. */
  gap: { readonly channel: string; readonly expected: number; readonly got: number };
  error: ServerError;
  closing: { readonly reason: string };
  /** Every server frame, parsed, before the client handles it. */
  message: ServerMessage;
}

export type ClientEvent = keyof ClientEvents;

/** What the client needs of a WebSocket (the browser's and Node's global `WebSocket` fit). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface QobWsClientOptions {
  /** `ws://host:port/ws`. */
  readonly url: string;
  /** Default: the global `WebSocket`. */
  readonly createSocket?: WebSocketFactory;
  /** Reconnect backoff: first delay, cap, and growth (defaults 250 ms, 10 s, x2), with +-20% jitter. */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** false: do not reconnect after a drop. */
  readonly reconnect?: boolean;
  /** Client ping period (default 15 s) and silence after which the connection is dropped (default 45 s). */
  readonly pingMs?: number;
  readonly timeoutMs?: number;
  /** Connect at once (default true); otherwise call `connect()`. */
  readonly autoConnect?: boolean;
  /** For jitter (default Math.random). */
  readonly random?: () => number;
  /**
   * Ask the server to batch each tick's publications into one frame (`?batch=1` on the URL; default false).
   * Batches are unpacked: events and `message` listeners see each message as if it came alone.
   */
  readonly batch?: boolean;
}

/** `url` with `batch=1` added to its query. */
export function batchUrl(url: string): string {
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const tail = hash < 0 ? '' : url.slice(hash);
  return `${base}${base.includes('?') ? '&' : '?'}batch=1${tail}`;
}

export interface SubscribeOptions {
  /** Book channels: levels per side (1..1000, default 50 on the server). */
  readonly depth?: number;
}

// ---- exact decimal text ordering (non-negative plain decimals, as the server sends) ----

function splitDecimal(s: string): [string, string] {
  const dot = s.indexOf('.');
  let int = dot < 0 ? s : s.slice(0, dot);
  let frac = dot < 0 ? '' : s.slice(dot + 1);
  let i = 0;
  while (i < int.length - 1 && int.charCodeAt(i) === 48) i++;
  int = i > 0 ? int.slice(i) : int;
  let j = frac.length;
  while (j > 0 && frac.charCodeAt(j - 1) === 48) j--;
  frac = frac.slice(0, j);
  return [int, frac];
}

/** Compares two non-negative decimal strings exactly: -1, 0 or 1. */
export function compareDecimalText(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const [ai, af] = splitDecimal(a);
  const [bi, bf] = splitDecimal(b);
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const n = Math.max(af.length, bf.length);
  const ap = af.padEnd(n, '0');
  const bp = bf.padEnd(n, '0');
  return ap === bp ? 0 : ap < bp ? -1 : 1;
}

function isZeroText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 48 && c !== 46) return false;
  }
  return true;
}

/**
 * Sets (or deletes, size zero) the level at `price` in a side sorted best first. `desc`: bids (highest
 * first). Binary search by exact decimal order.
 */
function applyLevel<T>(side: T[], price: string, value: T | undefined, priceOf: (t: T) => string, desc: boolean) {
  let lo = 0;
  let hi = side.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareDecimalText(priceOf(side[mid] as T), price);
    const before = desc ? c > 0 : c < 0;
    if (before) lo = mid + 1;
    else hi = mid;
  }
  const found = lo < side.length && compareDecimalText(priceOf(side[lo] as T), price) === 0;
  if (value === undefined) {
    if (found) side.splice(lo, 1);
  } else if (found) side[lo] = value;
  else side.splice(lo, 0, value);
}

function sortSide<T>(levels: T[], priceOf: (t: T) => string, desc: boolean): T[] {
  return levels.sort((x, y) => (desc ? -1 : 1) * compareDecimalText(priceOf(x), priceOf(y)));
}

const levelPrice = (l: WsLevel): string => l[0];
const consolidatedPrice = (l: WsConsolidatedLevel): string => l.price;

interface ChannelState {
  readonly channel: string;
  depth: number | undefined;
  /** Seq of the last applied snapshot or delta; undefined while waiting for a snapshot. */
  seq: number | undefined;
  /** Set when a resubscribe was sent and its snapshot has not arrived. */
  resyncing: boolean;
  bids: WsLevel[];
  asks: WsLevel[];
  cbids: WsConsolidatedLevel[];
  casks: WsConsolidatedLevel[];
  excluded: { venue: string; status: string }[];
  status: string;
  tsMs: number;
}

type Listener<E extends ClientEvent> = (ev: ClientEvents[E]) => void;

const OPEN = 1;

export class QobWsClient {
  private readonly options: QobWsClientOptions;
  private readonly createSocket: WebSocketFactory;
  private readonly channels = new Map<string, ChannelState>();
  private readonly listeners = new Map<ClientEvent, Set<(ev: never) => void>>();
  private socket: WebSocketLike | undefined;
  private attempt = 0;
  private opened = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastSeenMs = 0;
  private pingId = 0;
  private closedByUser = false;

  constructor(options: QobWsClientOptions) {
    this.options = options;
    this.createSocket =
      options.createSocket ??
      ((url) => {
        const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
        if (Ctor === undefined) throw new Error('no global WebSocket: pass createSocket');
        return new Ctor(url);
      });
    if (options.autoConnect !== false) this.connect();
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /** Subscribed channels. */
  get subscriptions(): string[] {
    return [...this.channels.keys()];
  }

  on<E extends ClientEvent>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (ev: never) => void);
    return () => set.delete(listener as (ev: never) => void);
  }

  /** Resolves with the next event of that kind that satisfies `pred`. */
  once<E extends ClientEvent>(event: E, pred: (ev: ClientEvents[E]) => boolean = () => true): Promise<ClientEvents[E]> {
    return new Promise((resolve) => {
      const off = this.on(event, (ev) => {
        if (!pred(ev)) return;
        off();
        resolve(ev);
      });
    });
  }

  private emit<E extends ClientEvent>(event: E, ev: ClientEvents[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set]) (l as Listener<E>)(ev);
  }

  /** Opens the connection (idempotent while one is open or opening). */
  connect(): void {
    if (this.closedByUser) return;
    if (this.socket !== undefined) return;
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    let ws: WebSocketLike;
    try {
      ws = this.createSocket(this.options.batch === true ? batchUrl(this.options.url) : this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = ws;
    ws.onopen = () => this.onOpen(ws);
    ws.onmessage = (ev) => {
      if (this.socket === ws) this.onMessage(ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
  }

  subscribe(channel: string, options: SubscribeOptions = {}): void {
    const st: ChannelState = {
      channel,
      depth: options.depth,
      seq: undefined,
      // Nothing is applied until the subscription's snapshot arrives.
      resyncing: true,
      bids: [],
      asks: [],
      cbids: [],
      casks: [],
      excluded: [],
      status: 'syncing',
      tsMs: 0,
    };
    this.channels.set(channel, st);
    this.sendSubscribe(st);
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel)) return;
    this.send({ op: 'unsubscribe', channel });
  }

  /** The local venue book of a `book.{venue}.{symbol}` channel (after its first snapshot). */
  book(channel: string): LocalBook | undefined {
    const st = this.channels.get(channel);
    if (st === undefined || st.seq === undefined) return undefined;
    return { channel, seq: st.seq, bids: st.bids, asks: st.asks, status: st.status, tsMs: st.tsMs };
  }

  consolidated(channel: string): LocalConsolidatedBook | undefined {
    const st = this.channels.get(channel);
    if (st === undefined || st.seq === undefined) return undefined;
    return {
      channel,
      seq: st.seq,
      bids: st.cbids,
      asks: st.casks,
      excluded: st.excluded,
      status: st.status,
      tsMs: st.tsMs,
    };
  }

  /** Sends a ping; the server answers with a pong of the same id. */
  ping(): number {
    const id = ++this.pingId;
    this.send({ op: 'ping', id });
    return id;
  }

  /** Closes for good (no reconnect). Idempotent. */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopPing();
    const ws = this.socket;
    if (ws !== undefined && ws.readyState <= OPEN) ws.close(1000, 'client closed');
  }

  private send(msg: unknown): void {
    const ws = this.socket;
    if (ws === undefined || ws.readyState !== OPEN) return;
    ws.send(JSON.stringify(msg));
  }

  private sendSubscribe(st: ChannelState): void {
    this.send(
      st.depth === undefined
        ? { op: 'subscribe', channel: st.channel }
        : { op: 'subscribe', channel: st.channel, depth: st.depth },
    );
  }

  private onOpen(ws: WebSocketLike): void {
    if (this.socket !== ws) return;
    const reconnect = this.opened > 0;
    this.opened++;
    this.attempt = 0;
    this.lastSeenMs = Date.now();
    this.startPing();
    for (const st of this.channels.values()) {
      st.seq = undefined;
      st.resyncing = true;
      this.sendSubscribe(st);
    }
    this.emit('open', { reconnect });
  }

  private onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    this.stopPing();
    const willReconnect = !this.closedByUser && this.options.reconnect !== false;
    this.emit('close', { code, reason, willReconnect });
    if (willReconnect) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closedByUser || this.reconnectTimer !== undefined) return;
    const initial = this.options.reconnectInitialMs ?? 250;
    const max = this.options.reconnectMaxMs ?? 10_000;
    const base = Math.min(max, initial * 2 ** this.attempt);
    const jitter = 0.8 + 0.4 * (this.options.random ?? Math.random)();
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, base * jitter);
  }

  private startPing(): void {
    this.stopPing();
    const pingMs = this.options.pingMs ?? 15_000;
    const timeoutMs = this.options.timeoutMs ?? 45_000;
    this.pingTimer = setInterval(
      () => {
        if (Date.now() - this.lastSeenMs >= timeoutMs) {
          // Silent too long: drop the socket; onclose reconnects.
          this.socket?.close(4000, 'heartbeat timeout');
          return;
        }
        this.ping();
      },
      Math.min(pingMs, timeoutMs),
    );
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private onMessage(data: unknown): void {
    this.lastSeenMs = Date.now();
    if (typeof data !== 'string') return;
    let msg: ServerMessage | BatchFrame;
    try {
      msg = JSON.parse(data) as ServerMessage | BatchFrame;
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if (msg.type === 'batch') {
      if (!Array.isArray(msg.messages)) return;
      for (const m of msg.messages) if (typeof m === 'object' && m !== null) this.handle(m);
      return;
    }
    this.handle(msg);
  }

  private handle(msg: ServerMessage): void {
    this.emit('message', msg);
    switch (msg.type) {
      case 'ping':
        this.send({ op: 'pong', id: msg.id });
        return;
      case 'snapshot':
      case 'delta':
        this.onData(msg);
        return;
      case 'error':
        this.emit('error', msg);
        return;
      case 'closing':
        this.emit('closing', { reason: msg.reason });
        return;
      default:
        return;
    }
  }

  private onData(msg: Extract<ServerMessage, { type: 'snapshot' | 'delta' }>): void {
    const st = this.channels.get(msg.channel);
    if (st === undefined) return;
    const kind = msg.type;
    if (kind === 'delta') {
      if (st.seq === undefined) {
        // A delta before the snapshot of a resubscribe is from the old subscription: wait for the snapshot.
        if (st.resyncing) return;
        this.resync(st, 0, msg.seq);
        return;
      }
      if (msg.seq !== st.seq + 1) {
        this.resync(st, st.seq + 1, msg.seq);
        return;
      }
    }
    st.seq = msg.seq;
    st.resyncing = false;
    const name = msg.channel.slice(0, msg.channel.indexOf('.') < 0 ? msg.channel.length : msg.channel.indexOf('.'));
    const data = (msg.data ?? {}) as Record<string, unknown>;
    if (name === 'book') {
      if (msg.channel.startsWith('book.consolidated.')) this.applyConsolidated(st, kind, data);
      else this.applyBook(st, kind, data);
    } else if (name === 'trades') {
      this.emit('trades', { channel: st.channel, kind, trades: (data.trades ?? []) as WsTradeMsg[] });
    } else if (name === 'candles') {
      this.emit('candles', {
        channel: st.channel,
        kind,
        interval: String(data.interval),
        candles: (data.candles ?? []) as WsCandleMsg[],
      });
    } else if (name === 'status') {
      this.emit('status', { channel: st.channel, kind, status: data });
    }
  }

  private resync(st: ChannelState, expected: number, got: number): void {
    st.seq = undefined;
    st.resyncing = true;
    this.emit('gap', { channel: st.channel, expected, got });
    this.sendSubscribe(st);
  }

  private applyBook(st: ChannelState, kind: 'snapshot' | 'delta', data: Record<string, unknown>): void {
    const bids = (data.bids ?? []) as WsLevel[];
    const asks = (data.asks ?? []) as WsLevel[];
    if (typeof data.status === 'string') st.status = data.status;
    if (typeof data.tsMs === 'number') st.tsMs = data.tsMs;
    if (kind === 'snapshot') {
      st.bids = sortSide([...bids], levelPrice, true);
      st.asks = sortSide([...asks], levelPrice, false);
    } else {
      // New arrays on every change: a view (React) can compare by identity.
      if (bids.length > 0) st.bids = st.bids.slice();
      if (asks.length > 0) st.asks = st.asks.slice();
      for (const l of bids) applyLevel(st.bids, l[0], isZeroText(l[1]) ? undefined : l, levelPrice, true);
      for (const l of asks) applyLevel(st.asks, l[0], isZeroText(l[1]) ? undefined : l, levelPrice, false);
      if (st.depth !== undefined) {
        if (st.bids.length > st.depth) st.bids.length = st.depth;
        if (st.asks.length > st.depth) st.asks.length = st.depth;
      }
    }
    const book = this.book(st.channel);
    if (book !== undefined) this.emit('book', { channel: st.channel, kind, book });
  }

  private applyConsolidated(st: ChannelState, kind: 'snapshot' | 'delta', data: Record<string, unknown>): void {
    const bids = (data.bids ?? []) as WsConsolidatedLevel[];
    const asks = (data.asks ?? []) as WsConsolidatedLevel[];
    if (typeof data.status === 'string') st.status = data.status;
    if (typeof data.tsMs === 'number') st.tsMs = data.tsMs;
    if (Array.isArray(data.excluded)) st.excluded = data.excluded as { venue: string; status: string }[];
    if (kind === 'snapshot') {
      st.cbids = sortSide([...bids], consolidatedPrice, true);
      st.casks = sortSide([...asks], consolidatedPrice, false);
    } else {
      if (bids.length > 0) st.cbids = st.cbids.slice();
      if (asks.length > 0) st.casks = st.casks.slice();
      for (const l of bids) applyLevel(st.cbids, l.price, isZeroText(l.size) ? undefined : l, consolidatedPrice, true);
      for (const l of asks) applyLevel(st.casks, l.price, isZeroText(l.size) ? undefined : l, consolidatedPrice, false);
    }
    const book = this.consolidated(st.channel);
    if (book !== undefined) this.emit('consolidated', { channel: st.channel, kind, book });
  }
}
