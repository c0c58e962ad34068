/**
 * Bitfinex raw (R0, order-by-order) books through the venue emulator: the real connector spec and handler
 * against the emulator's L3 true book (the simulated matching engine driven by its agent flow), with
 * faults. The L3 book must equal the true orders (queue order included), its derived L2 the true L2, and
 * the trades must arrive once each, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Emulator, type FaultSpec, startEmulator } from '../../src/emulator/index.ts';
import { bitfinexRawConnector, createBitfinexRawConnectorSpec } from '../../src/venues/bitfinex/l3-connector.ts';
import { BitfinexRawBookHandler } from '../../src/venues/bitfinex/l3-handler.ts';
import { assertRecoversFrom, assertSyncsAndTradesOnce, connectL3 } from './emulator-l3-helpers.ts';
import { bookTrail, closeAndCheck } from './emulator-venue-helpers.ts';

const SYMBOL = 'tBTCUSD';

const connectRaw = (emu: Emulator) =>
  connectL3(emu, 'bitfinex', SYMBOL, bitfinexRawConnector, (o) => new BitfinexRawBookHandler(o));

describe('bitfinex raw (R0) books through the emulator', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 31, venues: ['bitfinex'] });
  });
  after(async () => {
    await emu.close();
  });

  test('the spec subscribes conf 65536|131072, then R0 books of len 250 and trades', () => {
    const [p] = bitfinexRawConnector.plan(['tBTCUSD'], bitfinexRawConnector.defaultEndpoints);
    const frames = (p?.onOpen ?? []).map((f) => JSON.parse(f));
    assert.deepEqual(frames, [
      { event: 'conf', flags: 65536 | 131072 },
      { event: 'subscribe', channel: 'book', symbol: 'tBTCUSD', prec: 'R0', freq: 'F0', len: '250' },
      { event: 'subscribe', channel: 'trades', symbol: 'tBTCUSD' },
    ]);
    assert.throws(() => createBitfinexRawConnectorSpec({ len: 30 }));
  });

  test('the L3 book equals the true orders in queue order, its L2 view the true L2, checksums verify, and every trade arrives once in order', async () => {
    const truth = emu.trueL3Book('bitfinex', SYMBOL);
    const h = connectRaw(emu);
    try {
      await assertSyncsAndTradesOnce(emu, h, truth);
      const tb = h.book(SYMBOL);
      assert.ok((tb?.checksumsVerified ?? 0) > 10, 'raw checksums verified');
      assert.equal(tb?.checksumFailures, 0);
      assert.equal(tb?.gaps, 0);
      assert.deepEqual(bookTrail(h.statuses, SYMBOL), ['connecting', 'syncing', 'in_sync']);
    } finally {
      await closeAndCheck(h);
    }
  });

  const faults: FaultSpec[] = [
    { kind: 'skip-sequence' },
    { kind: 'duplicate-frame' },
    { kind: 'reorder-frames' },
    { kind: 'malformed-frame' },
    { kind: 'corrupt-checksum' },
    { kind: 'drop-connection' },
  ];
  for (const fault of faults) {
    test(`${fault.kind}: the book is reported out of sync, resyncs on a new connection and equals the truth again; trades stay once each and in order`, async () => {
      const truth = emu.trueL3Book('bitfinex', SYMBOL);
      const h = connectRaw(emu);
      try {
        await assertRecoversFrom(emu, h, truth, [fault]);
      } finally {
        await closeAndCheck(h);
      }
    });
  }
});
