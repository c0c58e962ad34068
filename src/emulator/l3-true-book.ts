/**
 * The emulator's order-by-order source of truth: the simulated venue's matching engine (src/sim/) driven
 * by its seeded agent flow, one flow step per `advance()`. Real orders rest, trade, are amended and
 * cancelled; venues with L3 channels (Bitfinex raw books) encode its orders and its trades, and tests
 * compare the L3 books our handlers build against `orders()`, their derived L2 against `l2()`, and the
 * trades they emit against `trades`.
 */
import { AgentFlow, type SimInstrument as AgentInstrument } from '../sim/agents.ts';
import {
  type EngineEvent,
  type IdSource,
  MatchingEngine,
  type RestingOrder,
  sequentialIds,
  type TradeEvent,
} from '../sim/matching-engine.ts';
import type { SimInstrument, TextBook } from './true-book.ts';

/** Numeric order ids (Bitfinex ids are integers), from a base that looks like a venue's. */
function numericIds(start: number): IdSource {
  let n = start;
  return { next: () => String(n++) };
}

export interface L3TrueBookOptions extends SimInstrument {
  readonly seed: number;
  /** Event-time clock (ms) stamped on trades. */
  readonly nowMs: () => number;
}

export class L3TrueBook {
  readonly venue: string;
  readonly symbol: string;
  readonly engine: MatchingEngine;
  private readonly flow: AgentFlow;
  private collected: EngineEvent[] = [];
  /** Every trade so far, in order (tests compare the trades a connector emitted with these). */
  readonly trades: TradeEvent[] = [];
  /** Steps run so far. */
  version = 0;

  constructor(venue: string, symbol: string, o: L3TrueBookOptions) {
    this.venue = venue;
    this.symbol = symbol;
    // The engine symbol is only a label here: the venue's own symbol spelling is kept by the emulator.
    const inst: AgentInstrument = {
      symbol: 'SIM-L3',
      tickSize: o.tick,
      lotSize: o.lot,
      initialPrice: o.mid,
      typicalSize: typicalSize(o.lot),
      calmVolBps: 0.3,
      halfSpreadBps: 1,
      levelSpacingBps: 1,
    };
    let live = false;
    this.engine = new MatchingEngine({
      instrument: inst,
      clock: o.nowMs,
      orderIds: numericIds(1_000_000_000 + (o.seed % 1_000_000) * 1000),
      tradeIds: sequentialIds('', 1),
      onEvent: (e) => {
        if (live) this.collected.push(e);
      },
    });
    // The book the agents build before the first step is the state every first snapshot carries.
    this.flow = new AgentFlow({ engine: this.engine, instrument: inst, seed: o.seed, restingTarget: 40 });
    live = true;
  }

  /** One flow step: the engine events it caused, in order (L3 adds, changes, deletes, trades). */
  advance(): readonly EngineEvent[] {
    this.collected = [];
    this.flow.step();
    this.version++;
    for (const e of this.collected) if (e.kind === 'trade') this.trades.push(e);
    return this.collected;
  }

  /** Resting orders of a side in priority order (best price first, then earliest). */
  orders(side: 'bid' | 'ask'): RestingOrder[] {
    return this.engine.orders(side);
  }

  /** The aggregate L2 book, best first. */
  l2(depth?: number): TextBook {
    return this.engine.l2(depth);
  }
}

/** A typical order: 500 lots. */
function typicalSize(lot: string): string {
  const dot = lot.indexOf('.');
  const digits = dot < 0 ? 0 : lot.length - dot - 1;
  const lots = BigInt(lot.replace('.', '')) * 500n;
  if (digits === 0) return lots.toString();
  const s = lots.toString().padStart(digits + 1, '0');
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
