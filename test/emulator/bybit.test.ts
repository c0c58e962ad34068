import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { createBybitFeedHandler } from '../../src/venues/bybit/index.ts';
import { canonical, connect, levelsOf, parse, settled } from './helpers.ts';

describe('emulator: Bybit v5', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 11, venues: ['bybit'], levels: 50 });
  });
  after(() => emu.close());

  it('acknowledges a subscribe with success, then sends a snapshot and deltas our handler keeps equal to the true book', async () => {
    const { wsBase } = emu.endpoints('bybit');
    const handler = createBybitFeedHandler();
    const url = `${wsBase}/v5/public/linear`;
    const c = await connect(emu, url, (f) => handler.onFrame('l', f, Date.now()));
    handler.onConnect('l', url, Date.now());
    c.ws.send(
      JSON.stringify({ req_id: 'r1', op: 'subscribe', args: ['orderbook.50.BTCUSDT', 'orderbook.200.ETHUSDT'] }),
    );
    const ack = parse(await c.waitFor((f) => f.includes('"op":"subscribe"'), 'ack'));
    assert.equal(ack.success, true);
    assert.equal(ack.req_id, 'r1');
    assert.equal(typeof ack.conn_id, 'string');
    await c.waitFrames(3);
    const snap = parse(c.frames[1] as string);
    assert.equal(snap.type, 'snapshot');
    assert.equal(snap.topic, 'orderbook.50.BTCUSDT');
    emu.step(40);
    await settled(emu, c);
    const deltas = c.frames.filter((f) => f.includes('"topic":"orderbook.50.BTCUSDT","type":"delta"'));
    assert.ok(deltas.length > 30);
    const us = [snap, ...deltas.map(parse)].map((m) => (m.data as { u: number }).u);
    assert.deepEqual(
      us,
      us.map((_, i) => (us[0] as number) + i),
      'u grows by one per message',
    );
    const btc = handler.book('linear:orderbook.50.BTCUSDT');
    assert.equal(btc?.status, 'in_sync');
    assert.equal(btc.gaps, 0);
    assert.deepEqual(levelsOf(btc.book), canonical(emu.trueBook('bybit', 'linear:BTCUSDT', 50)));
    const eth = handler.book('linear:orderbook.200.ETHUSDT');
    assert.equal(eth?.status, 'in_sync');
    assert.ok(eth.updates > 30);
    assert.deepEqual(levelsOf(eth.book), canonical(emu.trueBook('bybit', 'linear:ETHUSDT', 200)));
    await c.close();
  });

  it('rejects an unknown topic and a second subscription to the same topic with success false', async () => {
    const { wsBase } = emu.endpoints('bybit');
    const c = await connect(emu, `${wsBase}/v5/public/spot`);
    c.ws.send(JSON.stringify({ req_id: 'a', op: 'subscribe', args: ['orderbook.7.BTCUSDT'] }));
    const bad = parse(await c.waitFor((f) => f.includes('"req_id":"a"'), 'reject'));
    assert.equal(bad.success, false);
    c.ws.send(JSON.stringify({ req_id: 'b', op: 'subscribe', args: ['orderbook.1.BTCUSDT'] }));
    assert.equal(parse(await c.waitFor((f) => f.includes('"req_id":"b"'), 'ok')).success, true);
    c.ws.send(JSON.stringify({ req_id: 'c', op: 'subscribe', args: ['orderbook.1.BTCUSDT'] }));
    const again = parse(await c.waitFor((f) => f.includes('"req_id":"c"'), 'again'));
    assert.equal(again.success, false);
    assert.match(String(again.ret_msg), /already subscribed/);
    await c.close();
  });

  it('answers {"op":"ping"} with the category pong (spot: ret_msg pong, linear: op pong) unless pongs are suppressed', async () => {
    const { wsBase } = emu.endpoints('bybit');
    const spot = await connect(emu, `${wsBase}/v5/public/spot`);
    spot.ws.send(JSON.stringify({ req_id: 'p', op: 'ping' }));
    const sp = parse(await spot.waitFor((f) => f.includes('pong'), 'spot pong'));
    assert.equal(sp.op, 'ping');
    assert.equal(sp.ret_msg, 'pong');
    const lin = await connect(emu, `${wsBase}/v5/public/linear`);
    lin.ws.send(JSON.stringify({ req_id: 'q', op: 'ping' }));
    const lp = parse(await lin.waitFor((f) => f.includes('pong'), 'linear pong'));
    assert.equal(lp.op, 'pong');
    assert.equal(lp.req_id, 'q');
    emu.inject('bybit', { kind: 'suppress-pong', connection: lin.id });
    lin.ws.send(JSON.stringify({ req_id: 'q2', op: 'ping' }));
    lin.ws.send(JSON.stringify({ req_id: 'after', op: 'subscribe', args: ['orderbook.1.BTCUSDT'] }));
    await lin.waitFor((f) => f.includes('"req_id":"after"'), 'reply after the ping');
    assert.equal(lin.frames.filter((f) => f.includes('"op":"pong"')).length, 1);
    await spot.close();
    await lin.close();
  });

  it('skip-sequence makes our handler see a u gap', async () => {
    const { wsBase } = emu.endpoints('bybit');
    const handler = createBybitFeedHandler();
    const url = `${wsBase}/v5/public/spot`;
    const c = await connect(emu, url, (f) => handler.onFrame('s', f, Date.now()));
    handler.onConnect('s', url, Date.now());
    c.ws.send(JSON.stringify({ op: 'subscribe', args: ['orderbook.200.BTCUSDT'] }));
    await c.waitFrames(2);
    emu.inject('bybit', { kind: 'skip-sequence', connection: c.id });
    emu.step(30);
    await c.waitFor(() => (handler.book('spot:orderbook.200.BTCUSDT')?.gaps ?? 0) === 1, 'gap');
    assert.equal(handler.book('spot:orderbook.200.BTCUSDT')?.status, 'stale');
    await c.close();
  });

  it('serves instruments-info and orderbook over REST in the v5 envelope', async () => {
    const { restBase } = emu.endpoints('bybit');
    const info = (await (await fetch(`${restBase}/v5/market/instruments-info?category=linear`)).json()) as {
      retCode: number;
      result: { category: string; list: { symbol: string; priceFilter: { tickSize: string } }[] };
    };
    assert.equal(info.retCode, 0);
    assert.equal(info.result.category, 'linear');
    assert.deepEqual(info.result.list.map((i) => i.symbol).sort(), ['BTCUSDT', 'ETHUSDT']);
    const bad = (await (await fetch(`${restBase}/v5/market/instruments-info`)).json()) as { retCode: number };
    assert.equal(bad.retCode, 10001);
    const ob = (await (await fetch(`${restBase}/v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=5`)).json()) as {
      result: { b: [string, string][]; a: [string, string][] };
    };
    assert.deepEqual({ bids: ob.result.b, asks: ob.result.a }, emu.trueBook('bybit', 'spot:BTCUSDT', 5));
  });
});
