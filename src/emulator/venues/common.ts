/** Small helpers shared by the emulator's venue modules. */
import { writtenFractionDigits } from '../../core/fixed.ts';
import { type SimInstrument, type TextBook, type TextLevel, type TrueBook, viewDiff } from '../true-book.ts';
import type { VenueContext } from '../venue.ts';

const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'USD', 'EUR', 'BTC', 'ETH'];

/** `BTCUSDT` -> `['BTC', 'USDT']`, `BTC-USDT` -> `['BTC', 'USDT']`. */
export function baseQuote(symbol: string): [string, string] {
  const s = symbol.toUpperCase();
  const dash = s.split(/[-/_]/);
  if (dash.length >= 2) return [dash[0] as string, dash[1] as string];
  for (const q of QUOTES) {
    if (s.length > q.length && s.endsWith(q)) return [s.slice(0, -q.length), q];
  }
  return [s, ''];
}

/** `"0.01"` padded to `digits` fraction digits (`"0.01000000"`), as Binance writes its filters. */
export function padDecimals(text: string, digits: number): string {
  const have = writtenFractionDigits(text);
  if (have >= digits) return text;
  return (have === 0 ? `${text}.` : text) + '0'.repeat(digits - have);
}

/** Parses JSON without throwing: undefined on bad input. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first `depth` levels of each side of a book view, as `[[px, sz], ...]`. */
export function levelsJson(levels: readonly (readonly [string, string])[]): string {
  return JSON.stringify(levels);
}

/** A venue's instrument shapes for BTC, ETH and every other base asset. */
export interface InstrumentShapes {
  readonly BTC: SimInstrument;
  readonly ETH: SimInstrument;
  readonly other: SimInstrument;
}

/** The instrument shape of a base asset (as `baseQuote` returns it), a fresh copy per call. */
export function instrumentFor(base: string, shapes: InstrumentShapes): SimInstrument {
  switch (base) {
    case 'BTC':
      return { ...shapes.BTC };
    case 'ETH':
      return { ...shapes.ETH };
    default:
      return { ...shapes.other };
  }
}

/**
 * The emulator's heartbeat clock: counts the advances of the venue's first book, and is due once per
 * `every` of them.
 */
export class HeartbeatClock {
  private readonly firstSymbol: string | undefined;
  private readonly every: number;
  private steps = 0;

  constructor(books: ReadonlyMap<string, unknown>, every: number) {
    this.firstSymbol = books.keys().next().value;
    this.every = every;
  }

  /** Called once per advance of `symbol`: whether a heartbeat is due now. */
  due(symbol: string): boolean {
    return symbol === this.firstSymbol && ++this.steps % this.every === 0;
  }
}

/**
 * Moves a subscription's view to the book's top `depth` levels: the changed levels of each side
 * (`"0"` for levels that left the view), or undefined when nothing changed.
 */
export function advanceView(
  st: { view: TextBook },
  book: TrueBook,
  depth: number,
): { readonly bids: TextLevel[]; readonly asks: TextLevel[] } | undefined {
  const next = book.top(depth);
  const bids = viewDiff(st.view.bids, next.bids, '0');
  const asks = viewDiff(st.view.asks, next.asks, '0');
  st.view = next;
  return bids.length === 0 && asks.length === 0 ? undefined : { bids, asks };
}

/**
 * What the venues with a single WebSocket path and a step-driven heartbeat share: their context, the
 * heartbeat clock and `acceptsWs`. Subclasses implement the rest of `EmulatorVenue`.
 */
export abstract class SinglePathVenue {
  protected readonly ctx: VenueContext;
  protected readonly heartbeat: HeartbeatClock;
  readonly #wsPath: string;

  constructor(ctx: VenueContext, wsPath: string, heartbeatSteps: number) {
    this.ctx = ctx;
    this.heartbeat = new HeartbeatClock(ctx.books, heartbeatSteps);
    this.#wsPath = wsPath;
  }

  acceptsWs(path: string): boolean {
    return path === this.#wsPath;
  }
}
