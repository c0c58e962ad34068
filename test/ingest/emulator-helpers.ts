/** Shared plumbing of the emulator integration tests: a connector per venue pointed at the emulator. */
import { SeededRandom } from '../../src/core/random.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { systemClock } from '../../src/ingest/clock.ts';
import {
  type ConnectorOptions,
  type ConnectorStatus,
  createConnector,
  type VenueConnector,
} from '../../src/ingest/connector.ts';
import type { FetchLike } from '../../src/ingest/rest.ts';
import type { VenueConnectorSpec } from '../../src/venues/connector-spec.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { venueById } from '../../src/venues/index.ts';

/** Canonical decimal text (no trailing fraction zeros), for comparing venue text with book text. */
export function canon(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function sameBook(tb: TrackedBook | undefined, truth: { bids: string[][]; asks: string[][] }): boolean {
  if (tb === undefined || tb.status !== 'in_sync') return false;
  const side = (mine: { price: string; size: string }[], theirs: string[][]) =>
    mine.length === theirs.length &&
    mine.every(
      (l, i) => canon(l.price) === canon(theirs[i]?.[0] ?? '') && canon(l.size) === canon(theirs[i]?.[1] ?? ''),
    );
  return side(tb.book.levels('bid'), truth.bids) && side(tb.book.levels('ask'), truth.asks);
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 8_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Harness {
  readonly connector: VenueConnector;
  readonly statuses: ConnectorStatus[];
  readonly fetchTimes: { url: string; atMs: number }[];
  book(symbol: string): TrackedBook | undefined;
}

export function connect(
  emu: Emulator,
  venue: string,
  symbols: readonly string[],
  over: Partial<ConnectorOptions> & { specPatch?: Partial<VenueConnectorSpec> } = {},
): Harness {
  const reg = venueById(venue);
  if (reg?.connector === undefined) throw new Error(`${venue} has no connector spec`);
  const statuses: ConnectorStatus[] = [];
  const fetchTimes: { url: string; atMs: number }[] = [];
  const fetch: FetchLike = (url, init) => {
    fetchTimes.push({ url, atMs: Date.now() });
    return globalThis.fetch(url, init) as ReturnType<FetchLike>;
  };
  const { specPatch, ...rest } = over;
  const connector = createConnector({
    spec: { ...reg.connector, ...specPatch },
    handlerFactory: reg.createFeedHandler,
    symbols,
    endpoints: emu.endpoints(venue),
    clock: systemClock,
    random: new SeededRandom(42),
    onStatus: (s) => statuses.push(s),
    fetch,
    recovery: { snapshotDelayMs: 20, backoff: { baseMs: 20, maxMs: 200 }, timeoutMs: 1_500, maxTries: 8 },
    connection: { backoff: { baseMs: 10, maxMs: 100 } },
    ...rest,
  });
  const book = (symbol: string) => [...connector.books()].find((b) => b.symbol.toUpperCase() === symbol.toUpperCase());
  return { connector, statuses, fetchTimes, book };
}

/** Steps the market until every book is in sync, then (without stepping) until it equals the true book. */
export async function converge(
  emu: Emulator,
  h: Harness,
  venue: string,
  pairs: readonly (readonly [bookSymbol: string, emuSymbol: string])[],
): Promise<void> {
  let n = 0;
  await waitFor(`${venue} books in sync`, () => {
    if (n++ % 5 === 0) emu.step(1);
    return pairs.every(([b]) => h.book(b)?.status === 'in_sync');
  });
  await waitFor(`${venue} books equal the true books`, () =>
    pairs.every(([b, e]) => sameBook(h.book(b), emu.trueBook(venue, e))),
  );
}
