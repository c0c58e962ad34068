/**
 * The /ws market-data API end to end: a listening server over the simulated venue and the reference client
 * (`QobWsClient` on Node's global WebSocket) or raw `ws` sockets.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { compareDecimalText, QobWsClient, type WebSocketLike } from '../../src/client/ws-client.ts';
import { Decimal } from '../../src/core/fixed.ts';
import { simGateway } from './helpers.ts';
import {
  bookChannels,
  pauseReading,
  rawClient,
  type Server,
  serverTop,
  settleRaw,
  startServer,
  subscribe,
} from './ws-helpers.ts';

/** Steps the market and publishes `n` times. */
function run(s: Server, n: number, stepsPerTick = 1): void {
  for (let i = 0; i < n; i++) {
    s.sim.step(stepsPerTick);
    s.api.tick();
  }
}

/** Resolves once the server has answered a ping: every frame it sent before is handled by the client. */
async function settle(client: QobWsClient): Promise<void> {
  const id = client.ping();
  await client.once('message', (m) => m.type === 'pong' && m.id === id);
}

function asPairs(levels: readonly (readonly [string, string])[]): string[][] {
  return levels.map(([p, s]) => [p, s]);
}

describe('/ws book channels', () => {
  const servers: Server[] = [];
  const clients: QobWsClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
  });

  it('a client rebuilds the server top-N exactly from a snapshot and deltas, and seq increases by one', async () => {
    const s = await startServer();
    servers.push(s);
    const client = new QobWsClient({ url: s.url });
    clients.push(client);
    await client.once('open');
    const seqs: number[] = [];
    let deltas = 0;
    client.on('book', (ev) => {
      seqs.push(ev.book.seq);
      if (ev.kind === 'delta') deltas++;
    });
    client.subscribe('book.sim.BTC-USDT', { depth: 20 });
    client.subscribe('book.sim.ETH-USDT', { depth: 5 });
    await client.once('book', (ev) => ev.channel === 'book.sim.ETH-USDT');
    run(s, 60);
    await settle(client);
    assert.ok(deltas > 10, `deltas arrived (${deltas})`);
    const btc = client.book('book.sim.BTC-USDT');
    const eth = client.book('book.sim.ETH-USDT');
    assert.ok(btc !== undefined && eth !== undefined);
    const top = serverTop(s.sim, 'BTC-USDT', 20);
    assert.deepEqual({ bids: asPairs(btc.bids), asks: asPairs(btc.asks) }, top);
    assert.equal(btc.bids.length, 20);
    const ethTop = serverTop(s.sim, 'ETH-USDT', 5);
    assert.deepEqual({ bids: asPairs(eth.bids), asks: asPairs(eth.asks) }, ethTop);
    assert.equal(btc.status, 'in_sync');
    const btcSeqs = seqs.filter((_, i) => i >= 0);
    assert.ok(btcSeqs.length > 0);
  });

  it('every delta of a channel carries the previous seq + 1 and exact decimal strings', async () => {
    const s = await startServer();
    servers.push(s);
    const raw = await rawClient(s.url);
    const snap = await subscribe(raw, ['book.sim.BTC-USDT'], 10);
    run(s, 30);
    raw.send({ op: 'ping', id: 1 });
    await raw.next((f) => f.type === 'pong');
    const data = raw.frames.filter((f) => f.type === 'snapshot' || f.type === 'delta');
    assert.ok(data.length > 5);
    let seq = snap.seq as number;
    for (const f of data.slice(1)) {
      assert.equal(f.seq, ++seq);
      const d = f.data as { bids: unknown[][]; asks: unknown[][] };
      for (const [p, z] of [...d.bids, ...d.asks]) {
        assert.equal(typeof p, 'string');
        assert.equal(typeof z, 'string');
        assert.doesNotThrow(() => Decimal.parse(p as string));
      }
    }
    raw.ws.close();
  });

  it('the consolidated channel shows the per-venue breakdown and equals the venue book for a single venue', async () => {
    const s = await startServer();
    servers.push(s);
    const client = new QobWsClient({ url: s.url });
    clients.push(client);
    await client.once('open');
    client.subscribe('book.consolidated.BTC-USDT', { depth: 10 });
    await client.once('consolidated');
    run(s, 40);
    await settle(client);
    const cb = client.consolidated('book.consolidated.BTC-USDT');
    assert.ok(cb !== undefined);
    const top = serverTop(s.sim, 'BTC-USDT', 10);
    assert.deepEqual(
      cb.bids.map((l) => [l.price, l.size]),
      top.bids,
    );
    assert.deepEqual(
      cb.asks.map((l) => [l.price, l.size]),
      top.asks,
    );
    assert.deepEqual(
      cb.bids[0]?.venues.map((v) => v.venue),
      ['sim'],
    );
    assert.deepEqual(cb.excluded, []);
  });

  it('a dropped socket makes the client reconnect, resubscribe and hold the server book again', async () => {
    const s = await startServer();
    servers.push(s);
    const sockets: WebSocket[] = [];
    const client = new QobWsClient({
      url: s.url,
      reconnectInitialMs: 20,
      createSocket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws as unknown as WebSocketLike;
      },
    });
    clients.push(client);
    await client.once('open');
    client.subscribe('book.sim.BTC-USDT', { depth: 15 });
    await client.once('book');
    run(s, 10);
    await settle(client);
    const reopened = client.once('open', (ev) => ev.reconnect);
    const closed = client.once('close');
    sockets[0]?.close();
    assert.equal((await closed).willReconnect, true);
    // The market moves while the client is away.
    run(s, 25);
    await reopened;
    const resnap = await client.once('book', (ev) => ev.kind === 'snapshot');
    assert.equal(resnap.channel, 'book.sim.BTC-USDT');
    run(s, 10);
    await settle(client);
    const book = client.book('book.sim.BTC-USDT');
    assert.ok(book !== undefined);
    assert.deepEqual({ bids: asPairs(book.bids), asks: asPairs(book.asks) }, serverTop(s.sim, 'BTC-USDT', 15));
    assert.equal(sockets.length, 2);
  });
});

describe('/ws trades, candles and status', () => {
  it('trades arrive as a snapshot of recent trades then deltas of new ones, and candles add up to them', async () => {
    const s = await startServer();
    try {
      const client = new QobWsClient({ url: s.url });
      await client.once('open');
      const trades: string[] = [];
      const tradeSizes: Decimal[] = [];
      client.on('trades', (ev) => {
        if (ev.kind === 'delta') {
          for (const t of ev.trades) {
            trades.push(t.id);
            tradeSizes.push(Decimal.parse(t.size));
          }
        }
      });
      const candles = new Map<number, { volume: string; trades: number }>();
      client.on('candles', (ev) => {
        for (const c of ev.candles) candles.set(c.t, { volume: c.volume, trades: c.trades });
      });
      client.subscribe('trades.sim.BTC-USDT');
      client.subscribe('candles.sim.BTC-USDT.1h');
      const snap = await client.once('candles');
      assert.equal(snap.kind, 'snapshot');
      const before = [...candles.values()].reduce((n, c) => n + c.trades, 0);
      const beforeVol = [...candles.values()].reduce((v, c) => v.add(Decimal.parse(c.volume)), Decimal.ZERO);
      run(s, 200);
      await settle(client);
      assert.ok(trades.length > 0, 'the simulated market traded');
      assert.equal(new Set(trades).size, trades.length, 'no trade is delivered twice');
      const after = [...candles.values()].reduce((n, c) => n + c.trades, 0);
      assert.equal(after - before, trades.length);
      const afterVol = [...candles.values()].reduce((v, c) => v.add(Decimal.parse(c.volume)), Decimal.ZERO);
      const sum = tradeSizes.reduce((v, x) => v.add(x), Decimal.ZERO);
      assert.equal(afterVol.sub(beforeVol).toString(), sum.toString());
      client.close();
    } finally {
      await s.close();
    }
  });

  it('the status channel lists every book of the venue', async () => {
    const s = await startServer();
    try {
      const raw = await rawClient(s.url);
      const snap = await subscribe(raw, ['status']);
      const books = (snap.data as { books: { symbol: string; status: string }[] }).books;
      assert.deepEqual(
        books.map((b) => b.symbol),
        ['BTC-USDT', 'ETH-USDT'],
      );
      raw.ws.close();
    } finally {
      await s.close();
    }
  });
});

describe('/ws client gap handling', () => {
  it('a client that sees a seq gap resubscribes and rebuilds from the new snapshot', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const subs: unknown[] = [];
    const channel = 'book.sim.BTC-USDT';
    wss.on('connection', (sock) => {
      sock.on('message', (d) => {
        const m = JSON.parse(String(d)) as { op: string; channel: string };
        if (m.op !== 'subscribe') return;
        subs.push(m);
        const send = (x: unknown) => sock.send(JSON.stringify(x));
        if (subs.length === 1) {
          send({
            type: 'snapshot',
            channel,
            seq: 1,
            data: { bids: [['100', '1']], asks: [['101', '1']], status: 'in_sync', tsMs: 1 },
          });
          send({ type: 'delta', channel, seq: 2, data: { bids: [['99.5', '2']], asks: [], tsMs: 2 } });
          // seq 3 is lost.
          send({ type: 'delta', channel, seq: 4, data: { bids: [['100', '0']], asks: [], tsMs: 4 } });
        } else {
          send({
            type: 'snapshot',
            channel,
            seq: 9,
            data: { bids: [['99.5', '2']], asks: [['100.5', '3']], status: 'in_sync', tsMs: 9 },
          });
          send({ type: 'delta', channel, seq: 10, data: { bids: [['99.25', '1.5']], asks: [], tsMs: 10 } });
        }
      });
    });
    const addr = wss.address();
    assert.ok(typeof addr === 'object' && addr !== null);
    const client = new QobWsClient({ url: `ws://127.0.0.1:${addr.port}` });
    try {
      await client.once('open');
      const gap = client.once('gap');
      const rebuilt = client.once('book', (ev) => ev.book.seq === 10);
      client.subscribe(channel, { depth: 10 });
      assert.deepEqual(await gap, { channel, expected: 3, got: 4 });
      const ev = await rebuilt;
      assert.equal(subs.length, 2, 'the client subscribed again');
      assert.deepEqual(asPairs(ev.book.bids), [
        ['99.5', '2'],
        ['99.25', '1.5'],
      ]);
      assert.deepEqual(asPairs(ev.book.asks), [['100.5', '3']]);
    } finally {
      client.close();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  it('decimal text is ordered exactly, whatever its written form', () => {
    assert.equal(compareDecimalText('100.10', '100.1'), 0);
    assert.equal(compareDecimalText('99.999999999999999999', '100'), -1);
    assert.equal(compareDecimalText('0012.5', '12.49'), 1);
    assert.equal(compareDecimalText('0.00000001', '0.0000001'), -1);
  });
});

describe('/ws slow clients', () => {
  it('a client that stops reading has its deltas conflated, then is disconnected with the reason too slow', async () => {
    const s = await startServer(
      { maxBufferedBytes: 16 * 1024, slowTimeoutMs: 400, hardLimitFactor: 1e6, closeGraceMs: 60_000 },
      ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'],
    );
    try {
      const raw = await rawClient(s.url);
      await subscribe(raw, bookChannels(['BTC-USDT', 'ETH-USDT', 'SOL-USDT']), 1000);
      const tcp = pauseReading(raw);
      const deadline = Date.now() + 20_000;
      while (s.api.stats().slowDisconnects === 0 && Date.now() < deadline) {
        run(s, 1, 5);
        await new Promise((r) => setTimeout(r, 2));
      }
      const st = s.api.stats();
      assert.ok(st.conflations > 0, 'deltas were conflated');
      assert.equal(st.slowDisconnects, 1);
      tcp.resume();
      const closing = await raw.next((f) => f.type === 'closing');
      assert.equal(closing.reason, 'too slow');
      const { code } = await raw.closed;
      assert.equal(code, 4008);
      assert.equal(s.api.stats().clients, 0);
    } finally {
      await s.close();
    }
  });

  it('a client that falls behind briefly gets a fresh snapshot per channel instead of the skipped deltas and stays', async () => {
    const s = await startServer({ maxBufferedBytes: 16 * 1024, slowTimeoutMs: 60_000, hardLimitFactor: 1e6 }, [
      'BTC-USDT',
      'ETH-USDT',
      'SOL-USDT',
    ]);
    try {
      const raw = await rawClient(s.url);
      await subscribe(raw, bookChannels(['BTC-USDT', 'ETH-USDT', 'SOL-USDT']), 1000);
      const tcp = pauseReading(raw);
      const deadline = Date.now() + 20_000;
      while (s.api.stats().conflations === 0 && Date.now() < deadline) {
        run(s, 1, 5);
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(s.api.stats().conflations > 0);
      tcp.resume();
      // Keep publishing until the buffer drained and the conflated channels were re-snapshotted.
      const from = raw.frames.length;
      const resnap = raw.next((f) => f.type === 'snapshot', from);
      let got: Record<string, unknown> | undefined;
      void resnap.then((f) => {
        got = f;
      });
      while (got === undefined && Date.now() < deadline + 20_000) {
        s.api.tick();
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(got !== undefined, 'a fresh snapshot arrived');
      // Per channel, seq never goes back and every delta follows the previous frame or a snapshot.
      const last = new Map<string, number>();
      for (const f of raw.frames) {
        if (f.type !== 'snapshot' && f.type !== 'delta') continue;
        const ch = f.channel as string;
        const prev = last.get(ch);
        if (f.type === 'delta') assert.equal(f.seq, (prev ?? Number.NaN) + 1, `${ch} delta follows`);
        else if (prev !== undefined) assert.ok((f.seq as number) >= prev);
        last.set(ch, f.seq as number);
      }
      assert.equal(s.api.stats().slowDisconnects, 0);
      assert.equal(raw.ws.readyState, raw.ws.OPEN);
      raw.ws.close();
    } finally {
      await s.close();
    }
  });
});

describe('/ws client messages', () => {
  it('bad messages get typed error frames and the socket stays open', async () => {
    const s = await startServer({ maxChannels: 3 });
    try {
      const raw = await rawClient(s.url);
      const cases: [unknown, string][] = [
        ['not json', 'QOB_ERR_MALFORMED_MESSAGE'],
        ['[1,2]', 'QOB_ERR_MALFORMED_MESSAGE'],
        ['{"op":"subscribe","channel":"status","__proto__":{"x":1}}', 'QOB_ERR_PROTOTYPE_POISONING'],
        ['{"op":"subscribe","channel":"status","a":{"constructor":{"prototype":{}}}}', 'QOB_ERR_PROTOTYPE_POISONING'],
        [{ op: 'dance' }, 'QOB_ERR_UNKNOWN_MESSAGE'],
        [{ op: 'subscribe' }, 'QOB_ERR_MALFORMED_MESSAGE'],
        [{ op: 'subscribe', channel: 'book.sim' }, 'QOB_ERR_INVALID_ARGUMENT'],
        [{ op: 'subscribe', channel: 'weather.sim.BTC-USDT' }, 'QOB_ERR_INVALID_ARGUMENT'],
        [{ op: 'subscribe', channel: 'candles.sim.BTC-USDT.7m' }, 'QOB_ERR_INVALID_ARGUMENT'],
        [{ op: 'subscribe', channel: 'book.sim.BTC-USDT', depth: 0 }, 'QOB_ERR_INVALID_ARGUMENT'],
        [{ op: 'subscribe', channel: 'book.sim.BTC-USDT', depth: 'ten' }, 'QOB_ERR_MALFORMED_MESSAGE'],
        [{ op: 'subscribe', channel: 'book.nowhere.BTC-USDT' }, 'QOB_ERR_UNKNOWN_VENUE'],
        [{ op: 'subscribe', channel: 'book.sim.DOGE-USDT' }, 'QOB_ERR_UNKNOWN_INSTRUMENT'],
        [{ op: 'subscribe', channel: 'book.consolidated.DOGE-USDT' }, 'QOB_ERR_UNKNOWN_INSTRUMENT'],
        [{ op: 'unsubscribe', channel: 'status' }, 'QOB_ERR_NOT_FOUND'],
        [{ op: 'ping', id: { a: 1 } }, 'QOB_ERR_MALFORMED_MESSAGE'],
        [`{"op":"subscribe","channel":"${'x'.repeat(5000)}"}`, 'QOB_ERR_MALFORMED_MESSAGE'],
      ];
      for (const [msg, code] of cases) {
        const from = raw.frames.length;
        raw.send(msg);
        const f = await raw.next((x) => x.type === 'error', from);
        assert.equal(f.code, code, `${typeof msg === 'string' ? msg.slice(0, 60) : JSON.stringify(msg)} -> ${code}`);
        assert.equal(typeof f.message, 'string');
      }
      const unknown = raw.frames.find((f) => f.code === 'QOB_ERR_UNKNOWN_INSTRUMENT');
      assert.equal(unknown?.channel, 'book.sim.DOGE-USDT');
      // Channel limit per connection.
      for (const ch of ['status', 'book.sim.BTC-USDT', 'trades.sim.BTC-USDT'])
        raw.send({ op: 'subscribe', channel: ch });
      const from = raw.frames.length;
      raw.send({ op: 'subscribe', channel: 'book.sim.ETH-USDT' });
      const limit = await raw.next((x) => x.type === 'error', from);
      assert.equal(limit.code, 'QOB_ERR_INVALID_ARGUMENT');
      assert.match(String(limit.message), /at most 3 channels/);
      raw.send({ op: 'ping', id: 42 });
      assert.deepEqual(await raw.next((x) => x.type === 'pong'), { type: 'pong', id: 42 });
      assert.equal(raw.ws.readyState, raw.ws.OPEN);
      assert.equal(Object.getPrototypeOf({}).x, undefined);
      raw.ws.close();
    } finally {
      await s.close();
    }
  });

  it('unsubscribing stops the channel and the server drops streams nobody reads', async () => {
    const s = await startServer();
    try {
      const raw = await rawClient(s.url);
      await subscribe(raw, ['book.sim.BTC-USDT']);
      assert.equal(s.api.stats().streams, 1);
      raw.send({ op: 'unsubscribe', channel: 'book.sim.BTC-USDT' });
      await raw.next((f) => f.type === 'unsubscribed');
      assert.equal(s.api.stats().streams, 0);
      const from = raw.frames.length;
      run(s, 10);
      raw.send({ op: 'ping', id: 1 });
      await raw.next((f) => f.type === 'pong', from);
      assert.deepEqual(
        raw.frames.slice(from).map((f) => f.type),
        ['pong'],
      );
      raw.ws.close();
    } finally {
      await s.close();
    }
  });
});

describe('/ws heartbeats', () => {
  it('the server pings, closes a silent connection with a reason, and keeps one that answers', async () => {
    const s = await startServer({ heartbeatMs: 40, heartbeatTimeoutMs: 150 });
    try {
      const silent = await rawClient(s.url);
      const client = new QobWsClient({ url: s.url, pingMs: 60_000 });
      await client.once('open');
      const ping = await silent.next((f) => f.type === 'ping');
      assert.equal(typeof ping.id, 'number');
      const closing = await silent.next((f) => f.type === 'closing');
      assert.equal(closing.reason, 'heartbeat timeout');
      assert.equal((await silent.closed).code, 4000);
      // The reference client answers the server's pings: still connected after several timeouts' worth.
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(client.isOpen, true);
      assert.equal(s.api.stats().clients, 1);
      client.close();
    } finally {
      await s.close();
    }
  });
});

describe('/ws on the gateway', () => {
  it('buildGateway serves /ws: a client holds the sim book exactly as the REST book is served', async () => {
    const gw = await simGateway();
    try {
      await gw.app.listen({ port: 0, host: '127.0.0.1' });
      const addr = gw.app.server.address();
      assert.ok(addr !== null && typeof addr === 'object');
      const api = gw.app.qobWs;
      assert.ok(api !== undefined);
      const client = new QobWsClient({ url: `ws://127.0.0.1:${addr.port}/ws` });
      await client.once('open');
      client.subscribe('book.sim.BTC-USDT', { depth: 25 });
      await client.once('book');
      for (let i = 0; i < 30; i++) {
        gw.sim.step(1);
        api.tick();
      }
      await settle(client);
      const book = client.book('book.sim.BTC-USDT');
      assert.ok(book !== undefined);
      assert.deepEqual({ bids: asPairs(book.bids), asks: asPairs(book.asks) }, serverTop(gw.sim, 'BTC-USDT', 25));
      client.close();
    } finally {
      await gw.close();
    }
  });
});

describe('/ws batched frames and shared fan-out', () => {
  it('with ?batch=1 the publications of one tick arrive as one batch frame, each message keeping its channel seq', async () => {
    const s = await startServer();
    try {
      const raw = await rawClient(`${s.url}?batch=1`);
      raw.send({ op: 'subscribe', channel: 'book.sim.BTC-USDT', depth: 50 });
      raw.send({ op: 'subscribe', channel: 'book.sim.ETH-USDT', depth: 50 });
      const snapBtc = await raw.next((f) => f.type === 'snapshot' && f.channel === 'book.sim.BTC-USDT');
      const snapEth = await raw.next((f) => f.type === 'snapshot' && f.channel === 'book.sim.ETH-USDT');
      const from = raw.frames.length;
      run(s, 1, 20);
      const batch = (await raw.next((f) => f.type === 'batch', from)) as {
        n: number;
        messages: { type: string; channel: string; seq: number }[];
      };
      assert.equal(batch.n, 2);
      assert.equal(batch.messages.length, 2);
      const seqOf = new Map(batch.messages.map((m) => [m.channel, m]));
      assert.equal(seqOf.get('book.sim.BTC-USDT')?.type, 'delta');
      assert.equal(seqOf.get('book.sim.BTC-USDT')?.seq, (snapBtc.seq as number) + 1);
      assert.equal(seqOf.get('book.sim.ETH-USDT')?.seq, (snapEth.seq as number) + 1);
      const st = s.api.stats();
      assert.ok(st.messagesSent > st.framesSent, 'a frame carried several messages');
      raw.ws.close();
    } finally {
      await s.close();
    }
  });

  it('the reference client with batch: true unpacks batches and rebuilds the server top-N exactly', async () => {
    const s = await startServer();
    const client = new QobWsClient({ url: s.url, batch: true });
    try {
      await client.once('open');
      let deltas = 0;
      let gaps = 0;
      client.on('book', (ev) => {
        if (ev.kind === 'delta') deltas++;
      });
      client.on('gap', () => gaps++);
      client.subscribe('book.sim.BTC-USDT', { depth: 20 });
      client.subscribe('book.sim.ETH-USDT', { depth: 5 });
      await client.once('book', (ev) => ev.channel === 'book.sim.ETH-USDT');
      const framesBefore = s.api.stats().framesSent;
      const messagesBefore = s.api.stats().messagesSent;
      run(s, 40);
      await settle(client);
      const st = s.api.stats();
      assert.ok(st.messagesSent - messagesBefore > st.framesSent - framesBefore, 'batches were sent');
      assert.ok(deltas > 40, `deltas of both channels arrived (${deltas})`);
      assert.equal(gaps, 0);
      const btc = client.book('book.sim.BTC-USDT');
      const eth = client.book('book.sim.ETH-USDT');
      assert.ok(btc !== undefined && eth !== undefined);
      assert.deepEqual({ bids: asPairs(btc.bids), asks: asPairs(btc.asks) }, serverTop(s.sim, 'BTC-USDT', 20));
      assert.deepEqual({ bids: asPairs(eth.bids), asks: asPairs(eth.asks) }, serverTop(s.sim, 'ETH-USDT', 5));
    } finally {
      client.close();
      await s.close();
    }
  });

  it('a slow client holding the same channels as a fast one is conflated alone: the fast one gets every delta', async () => {
    const s = await startServer({ maxBufferedBytes: 16 * 1024, slowTimeoutMs: 60_000, hardLimitFactor: 1e6 });
    try {
      const fast = await rawClient(s.url);
      const slow = await rawClient(s.url);
      for (const c of [fast, slow]) await subscribe(c, ['book.sim.BTC-USDT', 'book.sim.ETH-USDT'], 1000);
      pauseReading(slow);
      const deadline = Date.now() + 20_000;
      while (s.api.stats().conflations === 0 && Date.now() < deadline) {
        run(s, 1, 5);
        await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(s.api.stats().conflations > 0, 'the slow client was conflated');
      run(s, 3, 5);
      await settleRaw(fast, 'done');
      const last = new Map<string, number>();
      let deltas = 0;
      for (const f of fast.frames) {
        if (f.type !== 'snapshot' && f.type !== 'delta') continue;
        const ch = f.channel as string;
        if (f.type === 'delta') {
          assert.equal(f.seq, (last.get(ch) ?? Number.NaN) + 1, `${ch} delta follows`);
          deltas++;
        } else assert.equal(last.has(ch), false, 'the fast client got no resync snapshot');
        last.set(ch, f.seq as number);
      }
      assert.ok(deltas > 2);
      fast.ws.close();
      slow.ws.terminate();
    } finally {
      await s.close();
    }
  });
});
