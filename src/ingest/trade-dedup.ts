/**
 * Drops repeated trades: a trade is a repeat when a trade with the same symbol and venue trade id was
 * accepted lately. Repeats happen when a venue (or the emulator's `duplicate` fault) sends a trade frame
 * twice, and across a make-before-break rotation, while two sockets stream the same trades.
 *
 * Bounded: per symbol, the ids of the newest `windowPerSymbol` accepted trades are remembered (oldest
 * forgotten first), so memory is at most symbols x window keys. A repeat arriving after more than
 * `windowPerSymbol` newer trades of its symbol is no longer recognised and is accepted again; venues
 * repeat a frame within a few frames, far inside the default window of 4096. Trades without an id
 * cannot be matched and are always accepted.
 */
import { qobError } from '../core/errors.ts';
import type { TradeEvent } from '../domain/events.ts';

/** Trade ids remembered per symbol by default. */
export const TRADE_DEDUP_WINDOW = 4096;

export class TradeDedup {
  readonly windowPerSymbol: number;
  /** Repeats dropped so far. */
  dropped = 0;
  private readonly recent = new Map<string, Set<string>>();

  constructor(windowPerSymbol: number = TRADE_DEDUP_WINDOW) {
    if (!Number.isSafeInteger(windowPerSymbol) || windowPerSymbol < 1) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', 'the trade dedup window must be a positive integer', {
        windowPerSymbol,
      });
    }
    this.windowPerSymbol = windowPerSymbol;
  }

  /** Whether `t` is new (and now remembered); false for a repeat, which the caller drops. */
  accept(t: Pick<TradeEvent, 'symbol' | 'tradeId'>): boolean {
    if (t.tradeId === null) return true;
    let ids = this.recent.get(t.symbol);
    if (ids === undefined) {
      ids = new Set();
      this.recent.set(t.symbol, ids);
    } else if (ids.has(t.tradeId)) {
      this.dropped++;
      return false;
    }
    ids.add(t.tradeId);
    if (ids.size > this.windowPerSymbol) {
      // A Set iterates in insertion order: the first key is the oldest.
      const oldest = ids.values().next().value;
      if (oldest !== undefined) ids.delete(oldest);
    }
    return true;
  }

  /** Trade ids remembered now, over all symbols (at most symbols x `windowPerSymbol`). */
  get size(): number {
    let n = 0;
    for (const ids of this.recent.values()) n += ids.size;
    return n;
  }
}
