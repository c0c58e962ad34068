/**
 * `SimExchange`: the built-in simulated venue. It owns one matching engine and one agent flow per
 * instrument and publishes what happens as a WIRE feed in its own JSON protocol (docs/SIM.md), so that its
 * data goes through the same path as a real venue's: frame text -> the `sim` feed handler
 * (src/venues/sim/) -> exact books.
 *
 * Deterministic: `step(n)` advances a virtual clock by `stepMs` per step and runs the agents; the same
 * options and the same calls give the same frames, byte for byte. Nothing here reads the wall clock or
 * starts a timer: `startSimDriver` runs `step` on an injected timer.
 */
import { qobError } from '../core/errors.ts';
import { AgentFlow, type AgentFlowStats, type Regime, type SimInstrument, simInstrument } from './agents.ts';
import { type EngineEvent, MatchingEngine, sequentialIds } from './matching-engine.ts';

/** Version of the wire protocol in the `info` frame. */
export const SIM_PROTOCOL_VERSION = 1;

export interface SimExchangeOptions {
  /** Seed of the whole market (default 1). */
  readonly seed?: number;
  /** Symbols to list (default BTC-USDT, ETH-USDT, SOL-USDT); see `SIM_INSTRUMENTS`. */
  readonly symbols?: readonly string[];
  /** Instruments given in full instead of by symbol. */
  readonly instruments?: readonly SimInstrument[];
  /** Simulated milliseconds per step (default 50). */
  readonly stepMs?: number;
  /** Virtual clock at step 0, epoch ms (default 2026-01-01T00:00:00Z). */
  readonly startMs?: number;
  /** Also publish `l3update` frames (order by order; default false). */
  readonly l3?: boolean;
}

export const SIM_DEFAULT_SYMBOLS: readonly string[] = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
const DEFAULT_START_MS = Date.UTC(2026, 0, 1);

/** A subscriber's connection to the exchange (in process: frames are delivered synchronously). */
export interface SimConnection {
  /** A client message: `{"op":"snapshot","symbol":"BTC-USDT"}` asks for a fresh snapshot frame. */
  send(text: string): void;
  /** Idempotent. */
  close(): void;
  readonly closed: boolean;
}

interface Market {
  readonly inst: SimInstrument;
  readonly engine: MatchingEngine;
  readonly flow: AgentFlow;
  /** Sequence of the last l2update frame (the snapshot carries it). */
  seq: number;
  l3seq: number;
  // Collected during a step.
  trades: EngineEvent[];
  l3: EngineEvent[];
  /** Level changes of the step: key `b:ticks` / `a:ticks` -> [lots before the step, price text, size text]. */
  l2: Map<string, { bid: boolean; before: number; lots: number; price: string; size: string }>;
}

export class SimExchange {
  readonly stepMs: number;
  readonly seed: number;
  private readonly markets: Market[] = [];
  private readonly bySymbol = new Map<string, Market>();
  private readonly listeners = new Set<(text: string) => void>();
  private readonly l3: boolean;
  private _steps = 0;
  private _nowMs: number;
  private _closed = false;

  constructor(options: SimExchangeOptions = {}) {
    this.seed = Math.trunc(options.seed ?? 1);
    this.stepMs = options.stepMs ?? 50;
    if (!Number.isInteger(this.stepMs) || this.stepMs < 1 || this.stepMs > 60_000) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `stepMs must be an integer in [1, 60000], got ${this.stepMs}`, {
        stepMs: this.stepMs,
      });
    }
    this._nowMs = options.startMs ?? DEFAULT_START_MS;
    this.l3 = options.l3 ?? false;
    const instruments = options.instruments ?? (options.symbols ?? SIM_DEFAULT_SYMBOLS).map(simInstrument);
    if (instruments.length === 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the simulated exchange needs at least one instrument');
    }
    for (const inst of instruments) {
      if (this.bySymbol.has(inst.symbol)) {
        throw qobError('QOB_ERR_INVALID_ARGUMENT', `instrument listed twice: ${inst.symbol}`, { symbol: inst.symbol });
      }
      // Events of the initial book (built by the agents before the first step) are not collected: that
      // book is the state at seq 0, which the first snapshot carries.
      let market: Market | undefined;
      const engine = new MatchingEngine({
        instrument: inst,
        clock: () => this._nowMs,
        orderIds: sequentialIds('O'),
        tradeIds: sequentialIds('T'),
        onEvent: (e) => {
          if (market !== undefined) this.collect(market, e);
        },
      });
      // Each instrument's flow has its own seed derived from the market seed and the symbol, so adding a
      // symbol does not change the others.
      const flow = new AgentFlow({ engine, instrument: inst, seed: mixSeed(this.seed, inst.symbol) });
      const m: Market = { inst, engine, flow, seq: 0, l3seq: 0, trades: [], l3: [], l2: new Map() };
      market = m;
      this.markets.push(m);
      this.bySymbol.set(inst.symbol, m);
    }
  }

  get symbols(): string[] {
    return this.markets.map((m) => m.inst.symbol);
  }

  get instruments(): SimInstrument[] {
    return this.markets.map((m) => m.inst);
  }

  /** Steps run so far. */
  get steps(): number {
    return this._steps;
  }

  /** The virtual clock, epoch ms. */
  get nowMs(): number {
    return this._nowMs;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The engine of a symbol (read it; sending orders to it bypasses the feed until the next step). */
  engine(symbol: string): MatchingEngine {
    return this.market(symbol).engine;
  }

  /** A symbol's current market regime and flow statistics. */
  flowState(symbol: string): { regime: Regime; burst: boolean; stats: Readonly<AgentFlowStats> } {
    const f = this.market(symbol).flow;
    return { regime: f.regime, burst: f.inBurst, stats: { ...f.stats } };
  }

  /** Current sequence of a symbol's L2 channel. */
  seq(symbol: string): number {
    return this.market(symbol).seq;
  }

  private market(symbol: string): Market {
    const m = this.bySymbol.get(symbol);
    if (m === undefined) {
      throw qobError('QOB_ERR_UNKNOWN_INSTRUMENT', `the simulated exchange does not list ${symbol}`, { symbol });
    }
    return m;
  }

  /**
   * Opens a connection: `onFrame` receives an `info` frame, a `snapshot` frame per symbol, then every frame
   * the exchange publishes, synchronously, until the connection is closed.
   */
  connect(onFrame: (text: string) => void): SimConnection {
    if (this._closed) throw qobError('QOB_ERR_CLOSED', 'the simulated exchange is closed');
    this.listeners.add(onFrame);
    let closed = false;
    onFrame(this.infoFrame());
    for (const m of this.markets) onFrame(this.snapshotFrame(m.inst.symbol));
    return {
      send: (text: string) => {
        if (closed) throw qobError('QOB_ERR_CLOSED', 'the connection is closed');
        onFrame(this.reply(text));
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.listeners.delete(onFrame);
      },
      get closed() {
        return closed;
      },
    };
  }

  private reply(text: string): string {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return JSON.stringify({ type: 'error', message: 'not JSON' });
    }
    const o = (typeof msg === 'object' && msg !== null ? msg : {}) as Record<string, unknown>;
    if (o.op === 'snapshot' && typeof o.symbol === 'string' && this.bySymbol.has(o.symbol)) {
      return this.snapshotFrame(o.symbol);
    }
    if (o.op === 'ping') return JSON.stringify({ type: 'pong', ts: this._nowMs });
    return JSON.stringify({ type: 'error', message: 'unknown op or symbol' });
  }

  infoFrame(): string {
    return JSON.stringify({
      type: 'info',
      venue: 'sim',
      version: SIM_PROTOCOL_VERSION,
      ts: this._nowMs,
      instruments: this.markets.map((m) => ({
        symbol: m.inst.symbol,
        tickSize: m.inst.tickSize,
        lotSize: m.inst.lotSize,
      })),
    });
  }

  /** The full L2 book of a symbol at its current sequence. */
  snapshotFrame(symbol: string): string {
    const m = this.market(symbol);
    const { bids, asks } = m.engine.l2();
    return JSON.stringify({ type: 'snapshot', symbol, seq: m.seq, ts: this._nowMs, bids, asks });
  }

  /** Runs `n` steps; after each, publishes per symbol a `trades` frame then an `l2update` frame (if any). */
  step(n = 1): void {
    if (this._closed) throw qobError('QOB_ERR_CLOSED', 'the simulated exchange is closed');
    if (!Number.isInteger(n) || n < 0) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `steps must be a non-negative integer, got ${n}`, { steps: n });
    }
    for (let i = 0; i < n; i++) {
      this._steps++;
      this._nowMs += this.stepMs;
      for (const m of this.markets) m.flow.step();
      for (const m of this.markets) this.publish(m);
    }
  }

  private collect(m: Market, e: EngineEvent): void {
    if (e.kind === 'trade') m.trades.push(e);
    else if (e.kind === 'l3') {
      if (this.l3) m.l3.push(e);
    } else {
      const key = `${e.side === 'bid' ? 'b' : 'a'}:${e.priceTicks}`;
      const prev = m.l2.get(key);
      m.l2.set(key, {
        bid: e.side === 'bid',
        before: prev === undefined ? e.prevLots : prev.before,
        lots: e.lots,
        price: e.price,
        size: e.size,
      });
    }
  }

  private resetCollected(m: Market): void {
    m.trades = [];
    m.l3 = [];
    m.l2 = new Map();
  }

  private publish(m: Market): void {
    const symbol = m.inst.symbol;
    const ts = this._nowMs;
    if (m.trades.length > 0) {
      const trades = m.trades.map((e) => {
        const t = e as Extract<EngineEvent, { kind: 'trade' }>;
        return {
          id: t.tradeId,
          price: t.price,
          size: t.size,
          side: t.aggressor,
          maker: t.makerOrderId,
          taker: t.takerOrderId,
        };
      });
      this.broadcast(JSON.stringify({ type: 'trades', symbol, ts, trades }));
    }
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (const c of m.l2.values()) {
      if (c.lots === c.before) continue; // came back to where it was within the step
      (c.bid ? bids : asks).push([c.price, c.size]);
    }
    if (bids.length > 0 || asks.length > 0) {
      m.seq++;
      this.broadcast(JSON.stringify({ type: 'l2update', symbol, seq: m.seq, ts, bids, asks }));
    }
    if (m.l3.length > 0) {
      m.l3seq++;
      const orders = m.l3.map((e) => {
        const o = e as Extract<EngineEvent, { kind: 'l3' }>;
        return [o.action, o.orderId, o.side, o.price, o.size];
      });
      this.broadcast(JSON.stringify({ type: 'l3update', symbol, seq: m.l3seq, ts, orders }));
    }
    this.resetCollected(m);
  }

  private broadcast(text: string): void {
    for (const l of [...this.listeners]) l(text);
  }

  /** Idempotent: closes every connection. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.listeners.clear();
  }
}

/** A timer, injected so that tests and replays control time (`globalThis` satisfies it). */
export interface SimTimer {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface SimDriverOptions {
  /** Steps per second of wall time. */
  readonly stepsPerSecond: number;
  /** Timer ticks per second (default 10); each runs the steps due. */
  readonly ticksPerSecond?: number;
  readonly timer: SimTimer;
  /** Called after each timer tick with the steps it ran. */
  readonly onTick?: (steps: number) => void;
  readonly signal?: AbortSignal;
}

export interface SimDriver {
  /** Idempotent. */
  close(): void;
}

/** Runs `exchange.step` on an injected timer at `stepsPerSecond` (fractions carried between ticks). */
export function startSimDriver(exchange: SimExchange, options: SimDriverOptions): SimDriver {
  const rate = options.stepsPerSecond;
  const tps = options.ticksPerSecond ?? 10;
  if (!(Number.isFinite(rate) && rate > 0) || !(Number.isFinite(tps) && tps > 0)) {
    throw qobError('QOB_ERR_INVALID_ARGUMENT', 'stepsPerSecond and ticksPerSecond must be positive numbers', {
      stepsPerSecond: rate,
      ticksPerSecond: tps,
    });
  }
  let carry = 0;
  let closed = false;
  const handle = options.timer.setInterval(() => {
    if (closed || exchange.closed) return;
    carry += rate / tps;
    const n = Math.floor(carry);
    carry -= n;
    exchange.step(n);
    options.onTick?.(n);
  }, 1000 / tps);
  const close = (): void => {
    if (closed) return;
    closed = true;
    options.timer.clearInterval(handle);
    options.signal?.removeEventListener('abort', close);
  };
  if (options.signal?.aborted === true) close();
  else options.signal?.addEventListener('abort', close);
  return { close };
}

/** FNV-1a of the symbol mixed into the seed. */
function mixSeed(seed: number, symbol: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    h ^= symbol.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
}
