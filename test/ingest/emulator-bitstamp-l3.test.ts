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
import { type Emulator, type FaultSpec, startEmulator } from '../../src/emulator/index.ts';
import { bitstampL3Connector } from '../../src/venues/bitstamp/l3-connector.ts';
import { BitstampL3FeedHandler } from '../../src/venues/bitstamp/l3-handler.ts';
import { assertRecoversFrom, assertSyncsAndTradesOnce, connectL3 } from './emulator-l3-helpers.ts';
import { bookTrail, closeAndCheck } from './emulator-venue-helpers.ts';

const SYMBOL = 'btcusd';

const connectRaw = (emu: Emulator) =>
  connectL3(emu, 'bitstamp', SYMBOL, bitstampL3Connector, (o) => new BitstampL3FeedHandler(o));

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
      await assertSyncsAndTradesOnce(emu, h, truth);
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
        await assertRecoversFrom(emu, h, truth, [{ kind: 'snapshot-429', retryAfterS: 0 }, fault]);
      } finally {
        await closeAndCheck(h);
      }
    });
  }
});
