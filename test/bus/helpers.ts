import { type BookDeltaEvent, bookDelta, type StatusEvent, status } from '../../src/domain/events.ts';

/** A delta of `symbol` whose lastSeq is `seq` (distinct ids per seq), at a fixed time. */
export function delta(symbol: string, seq: number, venue = 'binance'): BookDeltaEvent {
  return bookDelta({
    venue,
    symbol,
    tsEventMs: 1_700_000_000_000 + seq,
    tsRecvMs: 1_700_000_000_001 + seq,
    firstSeq: seq,
    lastSeq: seq,
    prevSeq: seq - 1,
    changes: [{ side: seq % 2 === 0 ? 'bid' : 'ask', price: `${60000 + (seq % 100)}.5`, size: `${(seq % 7) + 1}.25` }],
  });
}

export function st(i: number, symbol: string | null = 'BTC-USDT'): StatusEvent {
  return status({ venue: 'okx', symbol, tsRecvMs: 1_700_000_000_000, recvSeq: i, status: 'in_sync', reason: `r${i}` });
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** Resolves once `cond()` holds, polling every 5 ms; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Per key, the lastSeq values in delivery order must be strictly increasing. */
export function perKeyOrdered(events: readonly BookDeltaEvent[]): boolean {
  const last = new Map<string, number>();
  for (const e of events) {
    const k = `${e.venue}|${e.symbol}`;
    const prev = last.get(k);
    if (prev !== undefined && (e.lastSeq ?? 0) <= prev) return false;
    last.set(k, e.lastSeq ?? 0);
  }
  return true;
}
