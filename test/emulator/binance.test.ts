import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { createBinanceSpotFeedHandler, createBinanceUsdmFeedHandler } from '../../src/venues/binance/index.ts';
import { canonical, connect, levelsOf, parse, waitUntil } from './helpers.ts';

describe('emulator: Binance spot and USD-M', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 7, venues: ['binance', 'binance-usdm'], levels: 50 });
  });
  after(() => emu.close());

  it('a combined stream bridged to the REST snapshot by our spot handler ends equal to the true book', async () => {
    const { wsBase, restBase } = emu.endpoints('binance');
    const handler = createBinanceSpotFeedHandler();
    const url = `${wsBase}/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms`;
    const c = await connect(emu, url, (f) => handler.onFrame('c0', f, Date.now()));
    handler.onConnect('c0', url, Date.now());
    emu.step(5);
    await c.waitFrames(10);
    const first = parse(c.frames[0] as string);
    assert.equal(first.stream, 'btcusdt@depth@100ms');
    const data = first.data as Record<string, unknown>;
    assert.equal(data.e, 'depthUpdate');
    assert.equal(data.s, 'BTCUSDT');
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      const rest = `${restBase}/api/v3/depth?symbol=${sym}&limit=1000`;
      const res = await fetch(rest);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.equal(typeof parse(body).lastUpdateId, 'number');
      handler.onHttp(rest, body, Date.now());
    }
    emu.step(20);
    await c.waitFrames(50);
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      const tb = handler.book(sym);
      assert.ok(tb !== undefined);
      assert.equal(tb.status, 'in_sync', sym);
      assert.equal(tb.gaps, 0);
      assert.deepEqual(levelsOf(tb.book), canonical(emu.trueBook('binance', sym)));
    }
    assert.equal(handler.counters.malformed, 0);
    await c.close();
  });

  it('/ws answers SUBSCRIBE with {"result":null,"id":1}, then streams raw events; unknown methods get code 2', async () => {
    const { wsBase } = emu.endpoints('binance');
    const c = await connect(emu, `${wsBase}/ws`);
    c.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 1 }));
    assert.deepEqual(parse(await c.waitFor((f) => f.includes('"id":1'), 'ack')), { result: null, id: 1 });
    c.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 2 }));
    assert.deepEqual(parse(await c.waitFor((f) => f.includes('"id":2'), 'list')), {
      result: ['btcusdt@depth@100ms'],
      id: 2,
    });
    c.ws.send(JSON.stringify({ method: 'SUBSCRIBEX', params: [], id: 3 }));
    const err = parse(await c.waitFor((f) => f.includes('"id":3'), 'error'));
    assert.equal((err.error as { code: number }).code, 2);
    emu.step(1);
    const ev = parse(await c.waitFor((f) => f.includes('depthUpdate'), 'raw event'));
    assert.equal(ev.e, 'depthUpdate');
    assert.equal(ev.stream, undefined, 'raw streams are not wrapped');
    assert.equal(typeof ev.U, 'number');
    await c.close();
  });

  it('USD-M events chain on pu, skip ids (U != previous u + 1), and our USD-M handler ends equal to the true book', async () => {
    const { wsBase, restBase } = emu.endpoints('binance-usdm');
    const handler = createBinanceUsdmFeedHandler();
    const url = `${wsBase}/stream?streams=btcusdt@depth@100ms`;
    const c = await connect(emu, url, (f) => handler.onFrame('f0', f, Date.now()));
    handler.onConnect('f0', url, Date.now());
    emu.step(3);
    await c.waitFrames(3);
    const rest = `${restBase}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`;
    const body = await (await fetch(rest)).text();
    const snap = parse(body);
    assert.equal(typeof snap.E, 'number');
    assert.equal(typeof snap.T, 'number');
    handler.onHttp(rest, body, Date.now());
    emu.step(10);
    await c.waitFrames(13);
    const evs = c.frames.map((f) => parse(f).data as { U: number; u: number; pu: number });
    for (let i = 1; i < evs.length; i++) {
      const [p, e] = [evs[i - 1], evs[i]] as [(typeof evs)[0], (typeof evs)[0]];
      assert.equal(e.pu, p.u);
      assert.notEqual(e.U, p.u + 1);
    }
    const tb = handler.book('BTCUSDT');
    assert.equal(tb?.status, 'in_sync');
    assert.deepEqual(levelsOf(tb.book), canonical(emu.trueBook('binance-usdm', 'BTCUSDT')));
    await c.close();
  });

  it('REST answers an unknown symbol with 400 {"code":-1121} and serves a real-shaped exchangeInfo', async () => {
    const { restBase } = emu.endpoints('binance');
    const bad = await fetch(`${restBase}/api/v3/depth?symbol=NOPE&limit=10`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: number }).code, -1121);
    const info = (await (await fetch(`${restBase}/api/v3/exchangeInfo`)).json()) as {
      symbols: { symbol: string; status: string; filters: { filterType: string; tickSize?: string }[] }[];
    };
    const btc = info.symbols.find((s) => s.symbol === 'BTCUSDT');
    assert.equal(btc?.status, 'TRADING');
    assert.equal(btc.filters.find((f) => f.filterType === 'PRICE_FILTER')?.tickSize, '0.01000000');
  });

  it('skip-sequence drops one event and our handler reports the gap', async () => {
    const { wsBase, restBase } = emu.endpoints('binance');
    const handler = createBinanceSpotFeedHandler();
    const url = `${wsBase}/stream?streams=btcusdt@depth@100ms`;
    const c = await connect(emu, url, (f) => handler.onFrame('g', f, Date.now()));
    handler.onConnect('g', url, Date.now());
    emu.step(2);
    await c.waitFrames(2);
    const rest = `${restBase}/api/v3/depth?symbol=BTCUSDT&limit=1000`;
    handler.onHttp(rest, await (await fetch(rest)).text(), Date.now());
    emu.step(2);
    await c.waitFrames(4);
    assert.equal(handler.book('BTCUSDT')?.status, 'in_sync');
    const before = emu.stats.faultsFired['skip-sequence'];
    emu.inject('binance', { kind: 'skip-sequence' });
    emu.step(3);
    await c.waitFrames(6);
    assert.equal(handler.book('BTCUSDT')?.gaps, 1);
    assert.equal(handler.book('BTCUSDT')?.status, 'stale');
    assert.equal(emu.stats.faultsFired['skip-sequence'], before + 1);
    await c.close();
  });

  it('duplicate-frame sends one event twice and reorder-frames swaps two events', async () => {
    const { wsBase } = emu.endpoints('binance');
    const c = await connect(emu, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
    emu.inject('binance', { kind: 'duplicate-frame' });
    emu.step(2);
    await c.waitFrames(3);
    assert.equal(c.frames[0], c.frames[1]);
    emu.inject('binance', { kind: 'reorder-frames' });
    emu.step(2);
    await c.waitFrames(5);
    const u = c.frames.slice(3).map((f) => (parse(f).data as { u: number }).u);
    assert.ok((u[0] as number) > (u[1] as number), `expected swapped events, got u=${u.join(',')}`);
    await c.close();
  });

  it('malformed-frame sends invalid JSON that our handler counts as malformed', async () => {
    const { wsBase } = emu.endpoints('binance');
    const handler = createBinanceSpotFeedHandler();
    const c = await connect(emu, `${wsBase}/stream?streams=btcusdt@depth@100ms`, (f) => handler.onFrame('m', f, 0));
    emu.inject('binance', { kind: 'malformed-frame' });
    emu.step(2);
    await c.waitFrames(2);
    assert.throws(() => JSON.parse(c.frames[0] as string));
    assert.equal(handler.counters.malformed, 1);
    await c.close();
  });

  it('snapshot-429 and snapshot-418 answer the next snapshot requests with Retry-After, then snapshots resume', async () => {
    const { restBase } = emu.endpoints('binance');
    const url = `${restBase}/api/v3/depth?symbol=BTCUSDT&limit=100`;
    emu.inject('binance', { kind: 'snapshot-429', retryAfterS: 3, count: 2 });
    emu.inject('binance', { kind: 'snapshot-418', retryAfterS: 120 });
    for (const [status, retry] of [
      [429, '3'],
      [429, '3'],
      [418, '120'],
    ] as const) {
      const res = await fetch(url);
      assert.equal(res.status, status);
      assert.equal(res.headers.get('retry-after'), retry);
      assert.equal(((await res.json()) as { code: number }).code, -1003);
    }
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { bids: [string, string][]; asks: [string, string][] };
    assert.deepEqual({ bids: body.bids, asks: body.asks }, emu.trueBook('binance', 'BTCUSDT', 100));
  });

  it('answers WebSocket pings with the same payload, and not under suppress-pong', async () => {
    const { wsBase } = emu.endpoints('binance');
    const c = await connect(emu, `${wsBase}/ws`);
    c.ws.ping('hello');
    await waitUntil(() => c.pongs.length === 1, 'pong');
    assert.equal(c.pongs[0], 'hello');
    emu.inject('binance', { kind: 'suppress-pong' });
    c.ws.ping('again');
    // The server handles frames in order: once the reply to a later request arrives, a pong would have too.
    c.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 9 }));
    await c.waitFor((f) => f.includes('"id":9'), 'reply after the ping');
    assert.equal(c.pongs.length, 1);
    await c.close();
  });

  it('stall stops data but keeps the socket and its replies', async () => {
    const { wsBase } = emu.endpoints('binance');
    const c = await connect(emu, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
    emu.inject('binance', { kind: 'stall', connection: c.id });
    emu.step(3);
    c.ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: 4 }));
    await c.waitFor((f) => f.includes('"id":4'), 'reply while stalled');
    assert.equal(c.frames.length, 1);
    assert.equal(c.closeCode, undefined);
    await c.close();
  });

  it('drop-connection terminates the socket (no close frame) and rotate closes it with 1000', async () => {
    const { wsBase } = emu.endpoints('binance');
    const a = await connect(emu, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
    emu.inject('binance', { kind: 'drop-connection' });
    emu.step(1);
    assert.equal(await a.waitClosed(), 1006);
    const b = await connect(emu, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
    emu.inject('binance', { kind: 'rotate' });
    emu.step(1);
    assert.equal(await b.waitClosed(), 1000);
    assert.equal(a.frames.length + b.frames.length, 0);
  });

  it('slow-reads delays frames in order, and a client whose queue hits its bound is disconnected', async () => {
    const small = await startEmulator({ seed: 3, venues: ['binance'], levels: 20, maxQueuedFrames: 5 });
    try {
      const { wsBase } = small.endpoints('binance');
      const slow = await connect(small, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
      small.inject('binance', { kind: 'slow-reads', delayMs: 5 });
      small.step(4);
      await slow.waitFrames(4);
      const u = slow.frames.map((f) => (parse(f).data as { u: number }).u);
      assert.deepEqual(
        u,
        [...u].sort((x, y) => x - y),
      );
      small.clearFaults('binance');
      const stuck = await connect(small, `${wsBase}/stream?streams=btcusdt@depth@100ms`);
      small.inject('binance', { kind: 'slow-reads', delayMs: 60_000, connection: stuck.id });
      small.step(10);
      await stuck.waitClosed();
      assert.equal(small.stats.venues.binance?.slowClientsDisconnected, 1);
      await slow.close();
    } finally {
      await small.close();
    }
  });

  it('counts connections, frames, snapshots and faults in stats', () => {
    const s = emu.stats;
    const b = s.venues.binance;
    assert.ok(b !== undefined);
    assert.ok(b.connectionsOpened >= 8);
    assert.ok(b.framesSent > 50);
    assert.ok(b.snapshotsServed >= 4);
    assert.ok(b.faultsFired >= 8);
    assert.equal(s.faultsFired['snapshot-429'], 2);
    assert.equal(s.faultsFired['snapshot-418'], 1);
    assert.equal(s.connectionsOpened, b.connectionsOpened + (s.venues['binance-usdm']?.connectionsOpened ?? 0));
  });
});
