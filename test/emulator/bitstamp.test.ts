import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { createBitstampFeedHandler } from '../../src/venues/bitstamp/handler.ts';
import { canonical, connect, levelsOf, parse, settled } from './helpers.ts';

describe('emulator: Bitstamp', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 41, venues: ['bitstamp'], levels: 40 });
  });
  after(() => emu.close());

  async function subscribed(conn: string, pairs: string[]) {
    const handler = createBitstampFeedHandler();
    const { wsBase, restBase } = emu.endpoints('bitstamp');
    const url = `${wsBase}/`;
    const c = await connect(emu, url, (f) => handler.onFrame(conn, f, Date.now()));
    handler.onConnect(conn, url, Date.now());
    for (const p of pairs) {
      const text = JSON.stringify({ event: 'bts:subscribe', data: { channel: `diff_order_book_${p}` } });
      handler.onSend(conn, text, Date.now());
      c.ws.send(text);
    }
    await c.waitFrames(pairs.length);
    const snapshot = async (pair: string) => {
      const u = `${restBase}/api/v2/order_book/${pair}/`;
      const res = await fetch(u);
      const body = await res.text();
      handler.onHttp(u, body, Date.now());
      return { status: res.status, body };
    };
    return { c, handler, snapshot };
  }

  it('acks bts:subscribe, streams diffs that our handler bridges to the REST snapshot by microtimestamp, ending equal to the true book', async () => {
    const { c, handler, snapshot } = await subscribed('a', ['btcusd', 'ethusd']);
    assert.deepEqual(parse(c.frames[0] as string), {
      event: 'bts:subscription_succeeded',
      channel: 'diff_order_book_btcusd',
      data: {},
    });
    emu.step(5); // diffs before the snapshot: buffered, then dropped as older than it
    await settled(emu, c);
    for (const p of ['btcusd', 'ethusd']) {
      const snap = await snapshot(p);
      assert.match(snap.body, /^\{"timestamp": "\d+", "microtimestamp": "\d{16}", "bids": \[\["\d+/);
    }
    emu.step(30);
    await settled(emu, c);
    const diffs = c.frames.map(parse).filter((m) => m.event === 'data');
    const micros = diffs
      .filter((m) => m.channel === 'diff_order_book_btcusd')
      .map((m) => Number((m.data as { microtimestamp: string }).microtimestamp));
    assert.equal(micros.length, 35);
    assert.ok(
      micros.every((m, i) => i === 0 || m > (micros[i - 1] as number)),
      'microtimestamps increase',
    );
    const sample = (
      parse(c.frames.find((f) => f.includes('"event":"data"')) as string).data as {
        bids: [string, string][];
        asks: [string, string][];
      }
    ).bids[0];
    assert.match(sample?.[1] ?? '', /^\d+\.\d{8}$/);
    for (const p of ['btcusd', 'ethusd']) {
      const b = handler.book(p);
      assert.equal(b?.status, 'in_sync', p);
      assert.ok(b.updates > 25);
      assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('bitstamp', p)), p);
    }
    await c.close();
  });

  it('rotate sends bts:request_reconnect before closing with 1000, and our handler invalidates the book', async () => {
    const { c, handler, snapshot } = await subscribed('r', ['btcusd']);
    await snapshot('btcusd');
    emu.step(2);
    await settled(emu, c);
    assert.equal(handler.book('btcusd')?.status, 'in_sync');
    emu.inject('bitstamp', { kind: 'rotate', connection: c.id });
    emu.step(1);
    assert.equal(await c.waitClosed(), 1000);
    assert.deepEqual(parse(c.frames.at(-1) as string), { event: 'bts:request_reconnect', channel: '', data: '' });
    assert.equal(handler.book('btcusd')?.status, 'stale');
  });

  it('skip-sequence loses one diff with nothing in the protocol to reveal it; malformed-frame is counted', async () => {
    const { c, handler } = await subscribed('s', ['ethusd']);
    emu.inject('bitstamp', { kind: 'skip-sequence', connection: c.id });
    emu.step(4);
    await settled(emu, c);
    assert.equal(c.frames.filter((f) => f.includes('"event":"data"')).length, 3);
    assert.equal(emu.stats.faultsFired['skip-sequence'], 1);
    emu.inject('bitstamp', { kind: 'malformed-frame', connection: c.id });
    emu.step(1);
    await settled(emu, c);
    assert.equal(handler.counters.malformed, 1);
    await c.close();
  });

  it('answers bts:heartbeat unless pongs are suppressed, and a bad channel with bts:error', async () => {
    const { c } = await subscribed('h', ['btcusd']);
    c.ws.send(JSON.stringify({ event: 'bts:heartbeat' }));
    await c.waitFor((f) => f.includes('"status":"success"'), 'heartbeat reply');
    emu.inject('bitstamp', { kind: 'suppress-pong', connection: c.id });
    c.ws.send(JSON.stringify({ event: 'bts:heartbeat' }));
    c.ws.send(JSON.stringify({ event: 'bts:subscribe', data: { channel: 'diff_order_book_nope' } }));
    const err = parse(await c.waitFor((f) => f.includes('bts:error'), 'error'));
    assert.equal(err.channel, 'diff_order_book_nope');
    assert.equal(c.frames.filter((f) => f.includes('"status":"success"')).length, 1);
    await c.close();
  });

  it('serves trading-pairs-info and order_book over REST, and snapshot-429 on order_book', async () => {
    const { restBase } = emu.endpoints('bitstamp');
    const info = (await (await fetch(`${restBase}/api/v2/trading-pairs-info/`)).json()) as {
      url_symbol: string;
      name: string;
      base_decimals: number;
      counter_decimals: number;
    }[];
    assert.deepEqual(
      info.map((i) => [i.url_symbol, i.name, i.base_decimals, i.counter_decimals]),
      [
        ['btcusd', 'BTC/USD', 8, 0],
        ['ethusd', 'ETH/USD', 8, 1],
      ],
    );
    emu.inject('bitstamp', { kind: 'snapshot-429' });
    const limited = await fetch(`${restBase}/api/v2/order_book/btcusd/`);
    assert.equal(limited.status, 429);
    const ob = (await (await fetch(`${restBase}/api/v2/order_book/btcusd/`)).json()) as {
      bids: [string, string][];
      asks: [string, string][];
    };
    assert.deepEqual(canonical(ob), canonical(emu.trueBook('bitstamp', 'btcusd')));
    assert.equal((await fetch(`${restBase}/api/v2/order_book/nope/`)).status, 404);
  });
});
