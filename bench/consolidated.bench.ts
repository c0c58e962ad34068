/**
 * Consolidated book benchmark: eight venue books of one instrument quoting around ONE common fair price
 * (bench/lib/venue-sim.ts: a seeded random walk shared by all venues, each venue with its own tick and so
 * price scale (0, 1 or 2 decimals), lot, half-spread, offset and depth; they cross one another only briefly,
 * on a fraction of a percent of updates). Updates go through the real path, `L2Book.applyDelta` with the
 * venue's text, then the `ConsolidatedBook` is read. The input is held as JSON text in chunks, parsed
 * (untimed) right before each chunk is timed, as a live socket would hand it over.
 *
 * Scenarios, each op = one venue update, alone or followed by a consolidated read:
 *   venue update only | + BBO (with opportunity detection) | + top 20 with per-venue breakdown |
 *   + fee-adjusted top 20 | + BBO with 2 of the 8 venues out of sync (excluded).
 * After the timed runs an untimed pass checks, after every chunk, the consolidated top 20 (plain and
 * fee-adjusted, all venues and with 2 excluded) and every BBO's opportunity against a naive merge of the
 * venue books' `levels()` computed with Decimal; any mismatch fails the run (exit code 1).
 *
 *   npm run bench:consolidated                 readable table
 *   npm run bench:consolidated -- --json       {"results":[{"name","ops","nsPerOp","p50Ns","p99Ns","opsPerSec",...}]}
 *   options: --updates N per venue (default 3000) --runs N (3, after one warm-up) --seed N (7)
 */
import { parseArgs } from 'node:util';
import {
  type ConsolidatedBbo,
  ConsolidatedBook,
  type ConsolidatedLevel,
  type VenueBookSource,
} from '../src/book/consolidated-book.ts';
import { type BookSideName, L2Book } from '../src/book/l2-book.ts';
import { Decimal } from '../src/core/fixed.ts';
import { fmtNs, fmtRate, percentile, table, timerOverheadNs } from './lib/stats.ts';
import { type SimVenueSpec, VenueSim, type VenueUpdate } from './lib/venue-sim.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    updates: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '7' },
  },
});
const UPDATES = Number(args.updates);
const RUNS = Math.max(1, Number(args.runs));
const SEED = Number(args.seed);
const TOP_N = 20;
const CHUNK = 256;

const gc = (globalThis as { gc?: () => void }).gc;
const log = (s: string) => {
  if (!args.json) process.stdout.write(`${s}\n`);
};

class BenchFailure extends Error {}

/** Eight venues of BTC-USDT-like books: prices with 0, 1 or 2 decimals (Bybit writes `"65000.10"`). */
const VENUES: ReadonlyArray<SimVenueSpec & { feeBps: string }> = [
  {
    venue: 'binance',
    tick: '0.01',
    lot: '0.00001',
    levels: 1000,
    halfSpread: 0,
    medianSize: 0.05,
    gappiness: 0.6,
    feeBps: '10',
  },
  {
    venue: 'okx',
    tick: '0.1',
    lot: '0.00000001',
    levels: 400,
    halfSpread: 0.05,
    medianSize: 0.2,
    gappiness: 0.4,
    feeBps: '8',
  },
  {
    venue: 'bybit',
    tick: '0.10',
    lot: '0.000001',
    levels: 500,
    halfSpread: 0.05,
    medianSize: 0.3,
    gappiness: 0.3,
    feeBps: '10',
  },
  {
    venue: 'coinbase',
    tick: '0.01',
    lot: '0.00000001',
    levels: 1000,
    halfSpread: 0.01,
    medianSize: 0.1,
    gappiness: 0.9,
    feeBps: '60',
  },
  {
    venue: 'kraken',
    tick: '0.1',
    lot: '0.00000001',
    levels: 500,
    halfSpread: 0.1,
    medianSize: 0.2,
    gappiness: 0.7,
    feeBps: '26',
  },
  {
    venue: 'bitfinex',
    tick: '1',
    lot: '0.00000001',
    levels: 250,
    halfSpread: 0,
    medianSize: 0.3,
    gappiness: 0.2,
    feeBps: '20',
  },
  {
    venue: 'bitstamp',
    tick: '1',
    lot: '0.00000001',
    levels: 1000,
    halfSpread: 0.5,
    medianSize: 0.2,
    gappiness: 0.8,
    feeBps: '40',
  },
  {
    venue: 'gateio',
    tick: '0.1',
    lot: '0.000001',
    levels: 600,
    halfSpread: 0.1,
    medianSize: 0.1,
    gappiness: 0.5,
    feeBps: '2.5',
  },
];
/** Venues marked out of sync in the last scenario. */
const OUT_OF_SYNC = new Set(['kraken', 'bitstamp']);

interface Setup {
  readonly books: L2Book[];
  readonly consolidated: ConsolidatedBook;
}

interface Scenario {
  readonly name: string;
  readonly outOfSync: boolean;
  readonly read: ((c: ConsolidatedBook) => unknown) | undefined;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'venue update only', outOfSync: false, read: undefined },
  { name: 'venue update + consolidated BBO', outOfSync: false, read: (c) => c.bbo() },
  { name: `venue update + top ${TOP_N} with breakdown`, outOfSync: false, read: (c) => c.depth(TOP_N) },
  {
    name: `venue update + fee-adjusted top ${TOP_N}`,
    outOfSync: false,
    read: (c) => c.depth(TOP_N, { feeAdjusted: true }),
  },
  { name: 'venue update + BBO, 2 of 8 venues out of sync', outOfSync: true, read: (c) => c.bbo() },
];

interface Result {
  name: string;
  ops: number;
  nsPerOp: number;
  p50Ns: number;
  p99Ns: number;
  opsPerSec: number;
  /** BBO reads that found a cross-venue opportunity (BBO scenarios). */
  opportunities?: number;
  /** Venues left out of every read, with their status (out-of-sync scenario). */
  excluded?: string[];
}

// ---- input -------------------------------------------------------------------------------------------

interface Input {
  readonly snapshots: { bids: [string, string][]; asks: [string, string][] }[];
  /** JSON text of CHUNK updates each. */
  readonly chunks: string[];
  readonly ops: number;
  readonly dislocations: number;
}

function generate(): Input {
  const sim = new VenueSim(VENUES, { seed: SEED, startPrice: 65000, stepStdDev: 0.005 });
  const snapshots = VENUES.map((_, v) => sim.snapshot(v));
  const ops = UPDATES * VENUES.length;
  const chunks: string[] = [];
  for (let i = 0; i < ops; i += CHUNK) {
    const part: VenueUpdate[] = [];
    for (let j = i; j < Math.min(ops, i + CHUNK); j++) part.push(sim.next());
    chunks.push(JSON.stringify(part));
  }
  return { snapshots, chunks, ops, dislocations: sim.dislocations };
}

function build(input: Input, outOfSync: boolean): Setup {
  const consolidated = new ConsolidatedBook('BTC-USDT');
  const books = VENUES.map((spec, v) => {
    const book = new L2Book();
    const s = input.snapshots[v] as Input['snapshots'][number];
    book.applySnapshot(s.bids, s.asks);
    const excluded = outOfSync && OUT_OF_SYNC.has(spec.venue);
    const source: VenueBookSource = {
      venue: spec.venue,
      book,
      inSync: !excluded,
      status: excluded ? 'resyncing: sequence gap' : 'in_sync',
    };
    consolidated.addVenue(source, spec.feeBps);
    return book;
  });
  return { books, consolidated };
}

// ---- measurement ---------------------------------------------------------------------------------------

/** One pass over the whole input: per-op latency in ns (timer pair included), and the BBO opportunities. */
function pass(input: Input, sc: Scenario): { lat: Float64Array; opportunities: number; excluded: string[] } {
  const { books, consolidated } = build(input, sc.outOfSync);
  const lat = new Float64Array(input.ops);
  const read = sc.read;
  let op = 0;
  let opportunities = 0;
  let last: unknown;
  for (const text of input.chunks) {
    const updates = JSON.parse(text) as VenueUpdate[]; // untimed, as a socket hands it over
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i] as VenueUpdate;
      const book = books[u.v] as L2Book;
      if (read === undefined) {
        const t0 = process.hrtime.bigint();
        book.applyDelta(u.bids, u.asks);
        lat[op++] = Number(process.hrtime.bigint() - t0);
      } else {
        const t0 = process.hrtime.bigint();
        book.applyDelta(u.bids, u.asks);
        last = read(consolidated);
        lat[op++] = Number(process.hrtime.bigint() - t0);
        if ((last as Partial<ConsolidatedBbo>).opportunity !== undefined) opportunities++;
      }
    }
  }
  const excluded = ((last as { excluded?: { venue: string; status: string }[] } | undefined)?.excluded ?? []).map(
    (e) => `${e.venue} (${e.status})`,
  );
  return { lat, opportunities, excluded };
}

function measure(input: Input, sc: Scenario, overhead: number): Result {
  let best: Result | undefined;
  for (let r = 0; r <= RUNS; r++) {
    gc?.();
    const { lat, opportunities, excluded } = pass(input, sc);
    if (r === 0) continue; // warm-up
    lat.sort();
    let sum = 0;
    for (let i = 0; i < lat.length; i++) sum += lat[i] as number;
    const nsPerOp = Math.max(1, sum / lat.length - overhead);
    const res: Result = {
      name: sc.name,
      ops: lat.length,
      nsPerOp,
      p50Ns: Math.max(0, percentile(lat, 0.5) - overhead),
      p99Ns: Math.max(0, percentile(lat, 0.99) - overhead),
      opsPerSec: 1e9 / nsPerOp,
    };
    if (sc.read !== undefined && sc.name.includes('BBO')) res.opportunities = opportunities;
    if (sc.outOfSync) res.excluded = excluded;
    if (best === undefined || res.nsPerOp < best.nsPerOp) best = res;
  }
  return best as Result;
}

// ---- correctness: a naive merge with Decimal -------------------------------------------------------------

interface NaiveShare {
  venue: string;
  price: string;
  size: string;
}

const TEN_K = Decimal.of(10000n, 0);

/** Top `n` merged levels of `side` from the venue books' `levels()`, merged and summed with Decimal. */
function naiveDepth(setup: Setup, included: boolean[], side: BookSideName, n: number, fees: boolean) {
  const levels = new Map<string, { price: Decimal; shares: NaiveShare[] }>();
  VENUES.forEach((spec, v) => {
    if (!included[v]) return;
    const fee = Decimal.parse(spec.feeBps).div(TEN_K, 12);
    const mult = fees ? (side === 'bid' ? Decimal.of(1n, 0).sub(fee) : Decimal.of(1n, 0).add(fee)) : undefined;
    for (const l of (setup.books[v] as L2Book).levels(side, n)) {
      const p = mult === undefined ? Decimal.parse(l.price) : Decimal.parse(l.price).mul(mult);
      const key = p.toString();
      let e = levels.get(key);
      if (e === undefined) levels.set(key, (e = { price: p, shares: [] }));
      e.shares.push({ venue: spec.venue, price: l.price, size: l.size });
    }
  });
  const sorted = [...levels.values()].sort((a, b) => (side === 'bid' ? b.price.cmp(a.price) : a.price.cmp(b.price)));
  return sorted.slice(0, n).map((e) => ({
    price: e.price.toString(),
    size: e.shares.reduce((t, s) => t.add(Decimal.parse(s.size)), Decimal.ZERO).toString(),
    venues: e.shares,
  }));
}

function sameLevels(got: ConsolidatedLevel[], want: ReturnType<typeof naiveDepth>): boolean {
  return JSON.stringify(got) === JSON.stringify(want);
}

/** The naive best (buy venue, sell venue) pair: largest positive bid - ask over the venues' best levels. */
function naiveOpportunity(setup: Setup, included: boolean[]): { buy: string; sell: string; edge: string } | undefined {
  let best: { buy: string; sell: string; edge: Decimal } | undefined;
  VENUES.forEach((s, i) => {
    const bid = (setup.books[i] as L2Book).bestBid();
    if (!included[i] || bid === undefined) return;
    VENUES.forEach((b, j) => {
      const ask = (setup.books[j] as L2Book).bestAsk();
      if (!included[j] || i === j || ask === undefined) return;
      const edge = Decimal.parse(bid.price).sub(Decimal.parse(ask.price));
      if (edge.sign() > 0 && (best === undefined || edge.cmp(best.edge) > 0))
        best = { buy: b.venue, sell: s.venue, edge };
    });
  });
  return best === undefined ? undefined : { buy: best.buy, sell: best.sell, edge: best.edge.toString() };
}

/** Replays the input untimed, checking the consolidated reads against the naive merge. */
function verify(input: Input, outOfSync: boolean): { checks: number; crossedReads: number } {
  const setup = build(input, outOfSync);
  const included = VENUES.map((v) => !(outOfSync && OUT_OF_SYNC.has(v.venue)));
  let checks = 0;
  let crossedReads = 0;
  let op = 0;
  for (const text of input.chunks) {
    for (const u of JSON.parse(text) as VenueUpdate[]) {
      (setup.books[u.v] as L2Book).applyDelta(u.bids, u.asks);
      op++;
      const bbo = setup.consolidated.bbo();
      const want = naiveOpportunity(setup, included);
      const got = bbo.opportunity;
      if (
        (want === undefined) !== (got === undefined) ||
        (want !== undefined &&
          got !== undefined &&
          (want.edge !== got.edge ||
            Decimal.parse(got.sellPrice).sub(Decimal.parse(got.buyPrice)).toString() !== want.edge))
      ) {
        throw new BenchFailure(
          `BBO opportunity after update ${op} disagrees with the naive check:\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`,
        );
      }
      if (want !== undefined) crossedReads++;
    }
    for (const fees of [false, true]) {
      const d = setup.consolidated.depth(TOP_N, { feeAdjusted: fees });
      for (const side of ['bid', 'ask'] as const) {
        const want = naiveDepth(setup, included, side, TOP_N, fees);
        const got = side === 'bid' ? d.bids : d.asks;
        if (!sameLevels(got, want)) {
          throw new BenchFailure(
            `consolidated top ${TOP_N} ${side}s (feeAdjusted ${fees}) after update ${op} disagree with the naive merge:\n` +
              `  got  ${JSON.stringify(got.slice(0, 3))}...\n  want ${JSON.stringify(want.slice(0, 3))}...`,
          );
        }
        checks++;
      }
      const excluded = d.excluded.map((e) => e.venue);
      const wantExcluded = VENUES.filter((_, v) => !included[v]).map((v) => v.venue);
      if (JSON.stringify(excluded) !== JSON.stringify(wantExcluded)) {
        throw new BenchFailure(`excluded venues ${excluded} but expected ${wantExcluded}`);
      }
    }
  }
  return { checks, crossedReads };
}

// ---- main ------------------------------------------------------------------------------------------------

function main(): void {
  const input = generate();
  log(
    `Consolidated book: ${VENUES.length} venues around one fair-price path, ${UPDATES} updates per venue ` +
      `(${input.ops} ops, ${input.dislocations} injected crosses), chunks of ${CHUNK} parsed untimed`,
  );
  const overhead = timerOverheadNs();
  const results = SCENARIOS.map((sc) => measure(input, sc, overhead));

  const all = verify(input, false);
  const partial = verify(input, true);
  const crossedShare = all.crossedReads / input.ops;

  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ results, crossedShare, verified: { checks: all.checks + partial.checks } }, null, 2)}\n`,
    );
    return;
  }
  log(`(best of ${RUNS} runs after a warm-up; timer overhead ${fmtNs(overhead)} subtracted)\n`);
  const rows = [['scenario', 'ops', 'ns/op', 'p50', 'p99', 'ops/s', 'opportunities']];
  for (const r of results) {
    rows.push([
      r.name,
      String(r.ops),
      r.nsPerOp.toFixed(0),
      fmtNs(r.p50Ns),
      fmtNs(r.p99Ns),
      fmtRate(r.opsPerSec),
      r.opportunities === undefined ? '' : String(r.opportunities),
    ]);
  }
  log(table(rows));
  const excl = results.find((r) => r.excluded !== undefined)?.excluded ?? [];
  log(`\nexcluded in the out-of-sync scenario: ${excl.join(', ')}`);
  log(
    `venues crossed on ${(crossedShare * 100).toFixed(2)}% of reads (${all.crossedReads} of ${input.ops}); ` +
      `verified ${all.checks + partial.checks} top-${TOP_N} reads and every BBO against a naive Decimal merge: OK`,
  );
}

try {
  main();
} catch (e) {
  if (e instanceof BenchFailure) {
    process.stderr.write(`BENCHMARK FAILED: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
