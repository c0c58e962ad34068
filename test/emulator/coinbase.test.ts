import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { createCoinbaseFeedHandler } from '../../src/venues/coinbase/handler.ts';
import { canonical, connect, levelsOf, parse, settled } from './helpers.ts';

describe('emulator: Coinbase Advanced Trade', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 31, venues: ['coinbase'], levels: 40 });
  });
  after(() => emu.close());

  async function subscribed(conn: string) {
    const handler = createCoinbaseFeedHandler();
    const url = emu.endpoints('coinbase').wsBase; // ends with /ws (wsBasePath)
    const c = await connect(emu, url, (f) => handler.onFrame(conn, f, Date.now()));
    handler.onConnect(conn, url, Date.now());
    c.ws.send(JSON.stringify({ type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'level2' }));
    c.ws.send(JSON.stringify({ type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'heartbeats' }));
    await c.waitFrames(4);
    return { c, handler };
  }

  it('sends l2_data snapshots, a subscriptions ack and updates under ONE sequence_num per connection; our handler ends equal to the true book', async () => {
    const { c, handler } = await subscribed('a');
    const first = c.frames.slice(0, 4).map(parse);
    assert.deepEqual(
      first.map((m) => m.channel),
      ['l2_data', 'l2_data', 'subscriptions', 'subscriptions'],
    );
    assert.deepEqual(((first[3] as Record<string, unknown>).events as { subscriptions: unknown }[])[0]?.subscriptions, {
      heartbeats: ['heartbeats'],
      level2: ['BTC-USD', 'ETH-USD'],
    });
    const ev = ((first[0] as Record<string, unknown>).events as { type: string; updates: { side: string }[] }[])[0];
    assert.equal(ev?.type, 'snapshot');
    assert.deepEqual([...new Set(ev.updates.map((u) => u.side))], ['bid', 'offer']);
    emu.step(30);
    await settled(emu, c);
    const all = c.frames.map(parse);
    assert.ok(all.some((m) => m.channel === 'heartbeats'));
    assert.deepEqual(
      all.map((m) => m.sequence_num),
      all.map((_, i) => i),
      'one counter across l2_data, subscriptions and heartbeats',
    );
    assert.equal(handler.sequenceGaps, 0);
    for (const p of ['BTC-USD', 'ETH-USD']) {
      const b = handler.book(p);
      assert.equal(b?.status, 'in_sync', p);
      assert.ok(b.updates > 30);
      assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('coinbase', p)), p);
    }
    assert.deepEqual(handler.counters, { malformed: 0, unknown: 0 });
    await c.close();
  });

  for (const kind of ['skip-sequence', 'duplicate-frame', 'reorder-frames'] as const) {
    it(`${kind} shows as a Coinbase sequence gap that invalidates every book of the connection`, async () => {
      const { c, handler } = await subscribed(kind);
      emu.inject('coinbase', { kind, connection: c.id });
      emu.step(3);
      await settled(emu, c);
      assert.ok(handler.sequenceGaps >= 1);
      assert.equal(handler.book('BTC-USD')?.status, 'stale');
      assert.equal(handler.book('ETH-USD')?.status, 'stale');
      await c.close();
    });
  }

  it('stall stops l2_data and heartbeats while subscription replies still flow; malformed-frame is counted', async () => {
    const { c, handler } = await subscribed('s');
    emu.inject('coinbase', { kind: 'malformed-frame', connection: c.id });
    emu.step(1);
    await settled(emu, c);
    assert.equal(handler.counters.malformed, 1);
    emu.inject('coinbase', { kind: 'stall', connection: c.id });
    const before = c.frames.length;
    emu.step(10);
    c.ws.send(JSON.stringify({ type: 'unsubscribe', channel: 'heartbeats' }));
    await c.waitFrames(before + 1);
    const reply = parse(c.frames[before] as string);
    assert.equal(reply.channel, 'subscriptions');
    assert.deepEqual((reply.events as { subscriptions: unknown }[])[0]?.subscriptions, {
      level2: ['BTC-USD', 'ETH-USD'],
    });
    await settled(emu, c);
    assert.equal(c.frames.length, before + 1, 'no l2_data nor heartbeats while stalled');
    c.ws.send(JSON.stringify({ type: 'subscribe', channel: 'nope' }));
    assert.equal(parse(await c.waitFor((f) => f.includes('"type":"error"'), 'error')).type, 'error');
    await c.close();
  });

  it('serves public products and a product_book over REST, and snapshot-429 on product_book', async () => {
    const { restBase } = emu.endpoints('coinbase');
    const res = (await (await fetch(`${restBase}/api/v3/brokerage/market/products`)).json()) as {
      products: { product_id: string; quote_increment: string; status: string }[];
      num_products: number;
    };
    assert.deepEqual(
      res.products.map((p) => p.product_id),
      ['BTC-USD', 'ETH-USD'],
    );
    assert.equal(res.num_products, 2);
    assert.equal(res.products[0]?.status, 'online');
    emu.inject('coinbase', { kind: 'snapshot-429', retryAfterS: 3 });
    const limited = await fetch(`${restBase}/api/v3/brokerage/market/product_book?product_id=BTC-USD&limit=5`);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    const book = (await (
      await fetch(`${restBase}/api/v3/brokerage/market/product_book?product_id=BTC-USD&limit=5`)
    ).json()) as { pricebook: { bids: { price: string; size: string }[] } };
    assert.deepEqual(
      book.pricebook.bids.map((l) => [l.price, l.size]),
      canonical(emu.trueBook('coinbase', 'BTC-USD', 5)).bids,
    );
  });
});
