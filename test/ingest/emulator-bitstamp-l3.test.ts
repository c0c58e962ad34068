/**
 * Bitstamp order-by-order books (`live_orders_<pair>` + the `order_book?group=2` snapshot) through the
 * venue emulator: the real L3 connector spec and handler against the emulator's L3 true book (the
 * simulated matching engine driven by its agent flow). The L3 book must equal the true orders (queue
 * order included), its derived L2 the true L2, and the trades must arrive once each, in order. Bitstamp
 * has no sequence numbers, so only faults the protocol can see are tried: a dropped connection, the
 * venue's reconnect request, a rate-limited snapshot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TradeEvent } from '../../src/domain/events.ts';
import { type Emulator, type FaultSpec, startEmulator } from '../../src/emulator/index.ts';
import type { L3TrueBook } from '../../src/emulator/l3-true-book.ts';
import { bitstampL3Connector } from '../../src/venues/bitstamp/l3-connector.ts';
import { type BitstampL3FeedHandler, createBitstampL3FeedHandler } from '../../src/venues/bitstamp/l3-handler.ts';
import { canon, connect, type Harness, waitFor } from './emulator-helpers.ts';
import { assertTruthful, bookTrail, closeAndCheck } from './emulator-venue-helpers.ts';

const SYMBOL = 'btcusd';

interface RawHarness extends Harness {
  readonly trades: TradeEvent[];
  handler(): BitstampL3FeedHandler;
}

function connectRaw(emu: Emulator): RawHarness {
  const trades: TradeEvent[] = [];
  const h = connect(emu, 'bitstamp', [SYMBOL], {
    specPatch: bitstampL3Connector,
    handlerFactory: (o) => createBitstampL3FeedHandler({ ...o, onTrade: (t) => trades.push(t) }),
  });
  return { ...h, trades, handler: () => h.connector.handler as BitstampL3FeedHandler };
}

/** Orders as `side price size id`, each level's queue in time order, best level first. */
function trueOrders(truth: L3TrueBook): string[] {
  return [...truth.orders('bid'), ...truth.orders('ask')].map(
    (o) => `${o.side} ${canon(o.price)} ${canon(o.size)} ${o.id}`,
  );
}

function myOrders(h: RawHarness): string[] {
  const l3 = h.handler().l3(SYMBOL);
  if (l3 === undefined) return [];
  const out: string[] = [];
  for (const side of ['bid', 'ask'] as const) {
    for (const level of l3.l2.levels(side)) {
      for (const o of l3.queue(side, level.price)) out.push(`${side} ${canon(o.price)} ${canon(o.size)} ${o.id}`);
    }
  }
  return out;
}

function l2Text(levels: readonly { price: string; size: string }[]): string[] {
  return levels.map((l) => `${canon(l.price)} ${canon(l.size)}`);
}

function sameAsTruth(h: RawHarness, truth: L3TrueBook): boolean {
  const tb = h.book(SYMBOL);
  if (tb?.status !== 'in_sync') return false;
  const t = truth.l2();
  return (
    myOrders(h).join('|') === trueOrders(truth).join('|') &&
    l2Text(tb.book.levels('bid')).join('|') === t.bids.map(([p, s]) => `${canon(p)} ${canon(s)}`).join('|') &&
    l2Text(tb.book.levels('ask')).join('|') === t.asks.map(([p, s]) => `${canon(p)} ${canon(s)}`).join('|')
  );
}

/** Steps the market until the book is in sync, then (without stepping) until it equals the truth. */
async function converge(emu: Emulator, h: RawHarness, truth: L3TrueBook): Promise<void> {
  let n = 0;
  await waitFor('raw book in sync', () => {
    if (n++ % 5 === 0) emu.step(1);
    return h.book(SYMBOL)?.status === 'in_sync';
  });
  await waitFor('raw book equals the true orders and L2', () => sameAsTruth(h, truth));
}

describe('bitstamp live_orders (L3) books through the emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 41, venues: ['bitstamp'] });
  });
  after(async () => {
    await emu.close();
  });

  test('the spec subscribes live_orders and live_trades per pair and snapshots with group=2', () => {
    const [p] = bitstampL3Connector.plan(['btcusd'], bitstampL3Connector.defaultEndpoints);
    assert.deepEqual(
      (p?.onOpen ?? []).map((f) => JSON.parse(f)),
      [
        { event: 'bts:subscribe', data: { channel: 'live_orders_btcusd' } },
        { event: 'bts:subscribe', data: { channel: 'live_trades_btcusd' } },
      ],
    );
    const r = bitstampL3Connector.recovery('btcusd', p as NonNullable<typeof p>, bitstampL3Connector.defaultEndpoints);
    assert.equal(
      r.kind === 'rest-snapshot' ? r.request.url : '',
      'https://www.bitstamp.net/api/v2/order_book/btcusd/?group=2',
    );
  });

  test('the L3 book equals the true orders in queue order, its L2 view the true L2, and every trade arrives once in order', async () => {
    const truth = emu.trueL3Book('bitstamp', SYMBOL);
    const h = connectRaw(emu);
    try {
      await waitFor('snapshot without stepping', () => h.book(SYMBOL)?.status === 'in_sync');
      await waitFor('trades subscribed', () => emu.connections('bitstamp')[0]?.subscriptions.length === 2);
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
      assert.equal(h.handler().l3(SYMBOL)?.unknownOrders, 0, 'no event for an order we do not hold');
      assert.deepEqual(bookTrail(h.statuses, SYMBOL), ['connecting', 'syncing', 'in_sync']);
    } finally {
      await closeAndCheck(h);
    }
  });

  const faults: FaultSpec[] = [{ kind: 'drop-connection' }, { kind: 'rotate' }];
  for (const fault of faults) {
    test(`${fault.kind} (then a 429 snapshot): the book is reported out of sync, resyncs on a new connection and equals the truth again; trades stay once each and in order`, async () => {
      const truth = emu.trueL3Book('bitstamp', SYMBOL);
      const h = connectRaw(emu);
      try {
        await converge(emu, h, truth);
        const opened = h.connector.connections()[0]?.opens ?? 0;
        emu.inject('bitstamp', { kind: 'snapshot-429', retryAfterS: 0 });
        emu.inject('bitstamp', fault);
        await waitFor('the fault fired and a new connection opened', () => {
          emu.step(1);
          return (h.connector.connections()[0]?.opens ?? 0) > opened;
        });
        await converge(emu, h, truth);
        const trail = bookTrail(h.statuses, SYMBOL);
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
      } finally {
        await closeAndCheck(h);
      }
    });
  }
});
