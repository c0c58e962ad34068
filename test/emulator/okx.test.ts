import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { TrackedBook } from '../../src/venues/feed-handler.ts';
import { createOkxFeedHandler } from '../../src/venues/okx/feed-handler.ts';
import { canonical, connect, levelsOf, parse, settled } from './helpers.ts';

function bookOf(handler: ReturnType<typeof createOkxFeedHandler>, key: string): TrackedBook | undefined {
  return [...handler.books()].find((b) => b.key === key);
}

describe('emulator: OKX v5', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 5, venues: ['okx'], levels: 50 });
  });
  after(() => emu.close());

  it('acknowledges a books subscription, then a snapshot and updates chained on seqId with real checksums our handler verifies', async () => {
    const { wsBase } = emu.endpoints('okx');
    const handler = createOkxFeedHandler();
    const url = `${wsBase}`;
    const c = await connect(emu, url, (f) => handler.onFrame('o', f, Date.now()));
    handler.onConnect('o', url, Date.now());
    c.ws.send(
      JSON.stringify({
        op: 'subscribe',
        args: [
          { channel: 'books', instId: 'BTC-USDT' },
          { channel: 'books50-l2-tbt', instId: 'ETH-USDT' },
        ],
      }),
    );
    const ack = parse(await c.waitFor((f) => f.includes('"event":"subscribe"'), 'ack'));
    assert.deepEqual(ack.arg, { channel: 'books', instId: 'BTC-USDT' });
    assert.equal(typeof ack.connId, 'string');
    const snap = parse(await c.waitFor((f) => f.includes('"action":"snapshot"'), 'snapshot'));
    const d0 = (snap.data as { prevSeqId: number; checksum: number; bids: string[][] }[])[0];
    assert.equal(d0?.prevSeqId, -1);
    assert.notEqual(d0.checksum, 0);
    assert.equal(d0.bids[0]?.length, 4);
    emu.step(30);
    await settled(emu, c);
    const updates = c.frames
      .map(parse)
      .filter((m) => m.action !== undefined && (m.arg as { instId: string }).instId === 'BTC-USDT')
      .map((m) => (m.data as { seqId: number; prevSeqId: number }[])[0] as { seqId: number; prevSeqId: number });
    for (let i = 1; i < updates.length; i++) {
      assert.equal(updates[i]?.prevSeqId, updates[i - 1]?.seqId);
    }
    const btc = bookOf(handler, 'BTC-USDT');
    assert.equal(btc?.status, 'in_sync');
    assert.equal(btc.checksumFailures, 0);
    assert.ok(btc.checksumsVerified >= 25);
    const eth = bookOf(handler, 'books50-l2-tbt:ETH-USDT');
    assert.equal(eth?.status, 'in_sync');
    assert.deepEqual(levelsOf(btc.book), canonical(emu.trueBook('okx', 'BTC-USDT', 400)));
    assert.deepEqual(levelsOf(eth.book), canonical(emu.trueBook('okx', 'ETH-USDT', 50)));
    await c.close();
  });

  it('corrupt-checksum is detected by our handler as a checksum mismatch; skip-sequence as a gap', async () => {
    const { wsBase } = emu.endpoints('okx');
    const handler = createOkxFeedHandler();
    const url = `${wsBase}`;
    const c = await connect(emu, url, (f) => handler.onFrame('k', f, Date.now()));
    handler.onConnect('k', url, Date.now());
    c.ws.send(JSON.stringify({ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] }));
    await c.waitFrames(2);
    const id = c.id;
    emu.inject('okx', { kind: 'corrupt-checksum', connection: id });
    emu.step(2);
    await c.waitFrames(4);
    const btc = bookOf(handler, 'BTC-USDT');
    assert.equal(btc?.checksumFailures, 1);
    assert.equal(btc.status, 'stale');
    // Resubscribe brings it back; then a skipped update is a gap.
    c.ws.send(JSON.stringify({ op: 'unsubscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] }));
    c.ws.send(JSON.stringify({ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] }));
    await c.waitFrames(7);
    assert.equal(btc.status, 'in_sync');
    emu.inject('okx', { kind: 'skip-sequence', connection: id });
    emu.step(2);
    await c.waitFrames(8);
    assert.equal(btc.gaps, 1);
    assert.equal(btc.status, 'stale');
    await c.close();
  });

  it('answers text "ping" with "pong" unless pongs are suppressed, and unknown channels with error 60018', async () => {
    const { wsBase } = emu.endpoints('okx');
    const c = await connect(emu, `${wsBase}`);
    c.ws.send('ping');
    await c.waitFor((f) => f === 'pong', 'pong');
    emu.inject('okx', { kind: 'suppress-pong', connection: c.id });
    c.ws.send('ping');
    c.ws.send(JSON.stringify({ id: '7', op: 'subscribe', args: [{ channel: 'nope', instId: 'BTC-USDT' }] }));
    const err = parse(await c.waitFor((f) => f.includes('"event":"error"'), 'error'));
    assert.equal(err.code, '60018');
    assert.equal(err.id, '7');
    assert.equal(c.frames.filter((f) => f === 'pong').length, 1);
    await c.close();
  });

  it('serves public instruments and book snapshots over REST', async () => {
    const { restBase } = emu.endpoints('okx');
    const res = (await (await fetch(`${restBase}/api/v5/public/instruments?instType=SPOT`)).json()) as {
      code: string;
      data: { instId: string; tickSz: string; state: string }[];
    };
    assert.equal(res.code, '0');
    assert.deepEqual(res.data.map((i) => i.instId).sort(), ['BTC-USDT', 'ETH-USDT']);
    const missing = await fetch(`${restBase}/api/v5/public/instruments`);
    assert.equal(missing.status, 400);
    emu.inject('okx', { kind: 'snapshot-429', retryAfterS: 2 });
    const limited = await fetch(`${restBase}/api/v5/market/books?instId=BTC-USDT&sz=5`);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '2');
    const books = (await (await fetch(`${restBase}/api/v5/market/books?instId=BTC-USDT&sz=5`)).json()) as {
      data: { bids: string[][] }[];
    };
    assert.deepEqual(
      books.data[0]?.bids.map((l) => [l[0], l[1]]),
      emu.trueBook('okx', 'BTC-USDT', 5).bids,
    );
  });
});
