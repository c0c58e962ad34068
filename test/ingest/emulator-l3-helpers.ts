/**
 * Shared plumbing of the order-by-order (L3) emulator tests (Bitfinex R0 raw books, Bitstamp live_orders):
 * a connector with the venue's L3 spec and handler, comparisons with the emulator's L3 true book, and the
 * checks every L3 venue must pass (trades once each and in order, a fault recovered truthfully).
 */
import assert from 'node:assert/strict';
import type { L3Book } from '../../src/book/l3-book.ts';
import type { TradeEvent } from '../../src/domain/events.ts';
import type { Emulator, FaultSpec } from '../../src/emulator/index.ts';
import type { L3TrueBook } from '../../src/emulator/l3-true-book.ts';
import type { VenueConnectorSpec } from '../../src/venues/connector-spec.ts';
import type { FeedHandlerOptions, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { canon, connect, type Harness, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail } from './emulator-venue-helpers.ts';

/** A handler that keeps an L3 book per symbol. */
export interface L3Handler extends VenueFeedHandler {
  l3(symbol: string): L3Book | undefined;
}

export interface L3Harness<H extends L3Handler> extends Harness {
  readonly venue: string;
  readonly symbol: string;
  readonly trades: TradeEvent[];
  handler(): H;
}

/** Connects `venue`'s L3 spec and handler to the emulator for one symbol, collecting the handler's trades. */
export function connectL3<H extends L3Handler>(
  emu: Emulator,
  venue: string,
  symbol: string,
  spec: VenueConnectorSpec,
  create: (options: FeedHandlerOptions) => H,
): L3Harness<H> {
  const trades: TradeEvent[] = [];
  const h = connect(emu, venue, [symbol], {
    specPatch: spec,
    handlerFactory: (o) => create({ ...o, onTrade: (t) => trades.push(t) }),
  });
  return { ...h, venue, symbol, trades, handler: () => h.connector.handler as H };
}

/** Orders as `side price size id`, each level's queue in time order, best level first. */
export function trueOrders(truth: L3TrueBook): string[] {
  return [...truth.orders('bid'), ...truth.orders('ask')].map(
    (o) => `${o.side} ${canon(o.price)} ${canon(o.size)} ${o.id}`,
  );
}

/** The handler's orders in the form of `trueOrders`. */
export function myOrders(l3: L3Book | undefined): string[] {
  if (l3 === undefined) return [];
  const out: string[] = [];
  for (const side of ['bid', 'ask'] as const) {
    for (const level of l3.l2.levels(side)) {
      for (const o of l3.queue(side, level.price)) out.push(`${side} ${canon(o.price)} ${canon(o.size)} ${o.id}`);
    }
  }
  return out;
}

const levelsText = (levels: readonly { price: string; size: string }[]): string =>
  levels.map((l) => `${canon(l.price)} ${canon(l.size)}`).join('|');
const pairsText = (levels: readonly (readonly string[])[]): string =>
  levels.map(([p, s]) => `${canon(p ?? '')} ${canon(s ?? '')}`).join('|');

/** In sync, holding the true orders (queue order included), with the served L2 equal to the true L2. */
export function sameAsTruth(h: L3Harness<L3Handler>, truth: L3TrueBook): boolean {
  const tb = h.book(h.symbol);
  if (tb?.status !== 'in_sync') return false;
  const t = truth.l2();
  return (
    myOrders(h.handler().l3(h.symbol)).join('|') === trueOrders(truth).join('|') &&
    levelsText(tb.book.levels('bid')) === pairsText(t.bids) &&
    levelsText(tb.book.levels('ask')) === pairsText(t.asks)
  );
}

/** Steps the market until the book is in sync, then (without stepping) until it equals the truth. */
export async function convergeL3(emu: Emulator, h: L3Harness<L3Handler>, truth: L3TrueBook): Promise<void> {
  let n = 0;
  await waitFor('raw book in sync', () => {
    if (n++ % 5 === 0) emu.step(1);
    return h.book(h.symbol)?.status === 'in_sync';
  });
  await waitFor('raw book equals the true orders and L2', () => sameAsTruth(h, truth));
}

/**
 * Syncs from the snapshot without stepping, then steps the market: the book must equal the truth and every
 * trade made after the subscriptions must arrive once, in order, exact.
 */
export async function assertSyncsAndTradesOnce(emu: Emulator, h: L3Harness<L3Handler>, truth: L3TrueBook) {
  await waitFor('snapshot without stepping', () => h.book(h.symbol)?.status === 'in_sync');
  await waitFor('trades subscribed', () => emu.connections(h.venue)[0]?.subscriptions.length === 2);
  const from = truth.trades.length;
  for (let i = 0; i < 60; i++) emu.step(1);
  await waitFor('equal to the truth', () => sameAsTruth(h, truth));
  const expected = truth.trades.slice(from);
  assert.ok(expected.length > 0, 'the flow traded');
  await waitFor('every trade', () => h.trades.length >= expected.length);
  assert.deepEqual(
    h.trades.map((t) => `${t.tradeId} ${t.aggressor} ${canon(t.price)} ${canon(t.size)}`),
    expected.map((t) => `${Number(t.tradeId)} ${t.aggressor} ${canon(t.price)} ${canon(t.size)}`),
  );
}

/**
 * Injects `faults` once the book equals the truth: the book must be reported out of sync, resync on a new
 * connection and equal the truth again, and the trades stay true, once each and in order.
 */
export async function assertRecoversFrom(
  emu: Emulator,
  h: L3Harness<L3Handler>,
  truth: L3TrueBook,
  faults: readonly FaultSpec[],
): Promise<void> {
  await convergeL3(emu, h, truth);
  const opened = h.connector.connections()[0]?.opens ?? 0;
  for (const fault of faults) emu.inject(h.venue, fault);
  await waitFor('the fault fired and a new connection opened', () => {
    emu.step(1);
    return (h.connector.connections()[0]?.opens ?? 0) > opened;
  });
  await convergeL3(emu, h, truth);
  const trail = bookTrail(h.statuses, h.symbol);
  assert.ok(trail.filter((s) => s === 'in_sync').length >= 2, `a reported gap: ${trail.join(' > ')}`);
  assertTruthful(trail);
  const ids = h.trades.map((t) => Number(t.tradeId));
  for (let i = 1; i < ids.length; i++) {
    assert.ok((ids[i] as number) > (ids[i - 1] as number), `trades in order, none twice: ${ids.join(',')}`);
  }
  const known = new Set(truth.trades.map((t) => Number(t.tradeId)));
  assert.ok(
    ids.every((id) => known.has(id)),
    'only true trades',
  );
}
