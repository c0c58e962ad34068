/**
 * The emulator's source of truth: one seeded, deterministic L2 book per (venue, symbol), advanced one
 * generator delta at a time. Venue encoders turn its changes into wire frames; tests compare the books
 * our feed handlers build against `levels()`.
 */
import { type L2StreamDelta, L2StreamGenerator } from '../sim/l2-stream.ts';

/** `[price, size]` as text, best first. */
export type TextLevel = [string, string];

export interface TextBook {
  bids: TextLevel[];
  asks: TextLevel[];
}

/** How a simulated instrument looks: prices step by `tick`, sizes by `lot`, the book starts at `mid`. */
export interface SimInstrument {
  readonly mid: string;
  readonly tick: string;
  readonly lot: string;
}

export interface TrueBookOptions extends SimInstrument {
  readonly seed: number;
  /** Levels per side (the generator keeps each side near it). */
  readonly levels: number;
  readonly levelsPerDelta?: number;
}

export class TrueBook {
  readonly venue: string;
  readonly symbol: string;
  readonly instrument: SimInstrument;
  private readonly gen: L2StreamGenerator;
  /** Deltas applied so far. */
  version = 0;
  private cached: TextBook | undefined;
  private cachedVersion = -1;

  constructor(venue: string, symbol: string, o: TrueBookOptions) {
    this.venue = venue;
    this.symbol = symbol;
    this.instrument = { mid: o.mid, tick: o.tick, lot: o.lot };
    this.gen = new L2StreamGenerator({
      seed: o.seed,
      levels: o.levels,
      deltas: 0,
      mid: o.mid,
      tick: o.tick,
      lot: o.lot,
      levelsPerDelta: o.levelsPerDelta ?? 4,
    });
  }

  /** Advances the book by one delta (absolute sizes, a zero size deletes) and returns it. */
  advance(): L2StreamDelta {
    const d = this.gen.nextDelta();
    this.version++;
    return d;
  }

  /** The whole book, best first. The arrays are shared until the next `advance()`: do not mutate them. */
  levels(): TextBook {
    if (this.cachedVersion !== this.version || this.cached === undefined) {
      this.cached = this.gen.snapshot();
      this.cachedVersion = this.version;
    }
    return this.cached;
  }

  /** The best `depth` levels of each side, as fresh arrays. */
  top(depth = Number.POSITIVE_INFINITY): TextBook {
    const b = this.levels();
    return {
      bids: b.bids.slice(0, depth).map((l) => [l[0], l[1]]),
      asks: b.asks.slice(0, depth).map((l) => [l[0], l[1]]),
    };
  }
}

/**
 * The change between two views of a fixed-depth book (`prev` and `next`, best first): a level that left
 * the view is sent with `zero` (a delete), a level that entered or changed with its size. This is what a
 * fixed-depth venue (Bybit, OKX) pushes: the client truncates to the depth and stays equal to the view.
 */
export function viewDiff(
  prev: readonly (readonly [string, string])[],
  next: readonly (readonly [string, string])[],
  zero: string,
): TextLevel[] {
  const before = new Map<string, string>();
  for (const l of prev) before.set(l[0], l[1]);
  const out: TextLevel[] = [];
  const now = new Set<string>();
  for (const l of next) {
    now.add(l[0]);
    if (before.get(l[0]) !== l[1]) out.push([l[0], l[1]]);
  }
  for (const l of prev) if (!now.has(l[0])) out.push([l[0], zero]);
  return out;
}

/** FNV-1a over text, folded with a seed: per-(venue, symbol) seeds that do not depend on start order. */
export function seedFor(seed: number, ...parts: string[]): number {
  let h = (0x811c9dc5 ^ Math.trunc(seed)) >>> 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      h ^= p.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h ^= 0x2f;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Default instrument shapes by base asset (only what the simulation needs). */
export function defaultInstrument(base: string): SimInstrument {
  switch (base.toUpperCase()) {
    case 'BTC':
      return { mid: '65000.00', tick: '0.01', lot: '0.00001' };
    case 'ETH':
      return { mid: '3500.00', tick: '0.01', lot: '0.0001' };
    case 'SOL':
      return { mid: '150.000', tick: '0.001', lot: '0.001' };
    default:
      return { mid: '1.0000', tick: '0.0001', lot: '0.1' };
  }
}
