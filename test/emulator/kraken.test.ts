import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalDecimal } from '../../src/core/fixed.ts';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import type { TrackedBook, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { createKrakenFeedHandler } from '../../src/venues/kraken/feed-handler.ts';
import { type Client, canonical, connect, levelsOf, parse, settled } from './helpers.ts';

function bookOf(handler: VenueFeedHandler, symbol: string): TrackedBook | undefined {
  return [...handler.books()].find((b) => b.key === `v2:${symbol}`);
}

/** Sends a request the way a connector does: the handler sees it too. */
function send(c: Client, handler: VenueFeedHandler, conn: string, v: unknown): void {
  const text = JSON.stringify(v);
  handler.onSend(conn, text, Date.now());
  c.ws.send(text);
}

function bookFrames(c: Client, type: string): string[] {
  return c.frames.filter((f) => f.startsWith(`{"channel":"book","type":"${type}"`));
}

describe('emulator: Kraken WebSocket v2', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 21, venues: ['kraken'], levels: 40 });
  });
  after(() => emu.close());

  async function subscribed(conn: string, symbols: string[], depth: number) {
    const handler = createKrakenFeedHandler();
    const url = `${emu.endpoints('kraken').wsBase}/v2`;
    const c = await connect(emu, url, (f) => handler.onFrame(conn, f, Date.now()));
    handler.onConnect(conn, url, Date.now());
    send(c, handler, conn, { method: 'subscribe', params: { channel: 'book', symbol: symbols, depth }, req_id: 1 });
    await c.waitFrames(1 + 2 * symbols.length);
    return { c, handler };
  }

  it('acks a book subscription, then a snapshot and updates whose CRC32 checksums our handler verifies, ending equal to the truncated true book', async () => {
    const handler = createKrakenFeedHandler();
    const url = `${emu.endpoints('kraken').wsBase}/v2`;
    const c = await connect(emu, url, (f) => handler.onFrame('k', f, Date.now()));
    handler.onConnect('k', url, Date.now());
    const status = parse(await c.waitFor((f) => f.startsWith('{"channel":"status"'), 'status'));
    assert.equal((status.data as { api_version: string }[])[0]?.api_version, 'v2');
    send(c, handler, 'k', { method: 'subscribe', params: { channel: 'instrument' } });
    const inst = parse(await c.waitFor((f) => f.startsWith('{"channel":"instrument"'), 'instrument'));
    const pairs = (inst.data as { pairs: { symbol: string; price_precision: number; qty_precision: number }[] }).pairs;
    assert.deepEqual(
      pairs.map((p) => [p.symbol, p.price_precision, p.qty_precision]),
      [
        ['BTC/USD', 1, 8],
        ['ETH/USD', 2, 8],
      ],
    );
    send(c, handler, 'k', {
      method: 'subscribe',
      params: { channel: 'book', symbol: ['BTC/USD'], depth: 25 },
      req_id: 7,
    });
    send(c, handler, 'k', { method: 'subscribe', params: { channel: 'book', symbol: ['ETH/USD'], depth: 10 } });
    const ack = parse(await c.waitFor((f) => f.includes('"result":{"channel":"book"'), 'ack'));
    assert.equal(ack.success, true);
    assert.equal(ack.req_id, 7);
    assert.deepEqual(ack.result, { channel: 'book', depth: 25, snapshot: true, symbol: 'BTC/USD' });
    await c.waitFor(() => bookFrames(c, 'snapshot').length === 2, 'two snapshots');
    const snap = bookFrames(c, 'snapshot')[0] as string;
    // JSON numbers written with the pair's precision (trailing zeros kept), and a checksum on the snapshot.
    assert.match(snap, /"price":\d+\.\d,"qty":\d+\.\d{8}\}/);
    assert.match(snap, /"checksum":\d+\}/);
    emu.step(60);
    await settled(emu, c);
    assert.ok(bookFrames(c, 'update').length > 40);
    for (const [sym, depth] of [
      ['BTC/USD', 25],
      ['ETH/USD', 10],
    ] as const) {
      const b = bookOf(handler, sym);
      assert.equal(b?.status, 'in_sync', sym);
      assert.equal(b.checksumFailures, 0);
      assert.ok(b.checksumsVerified > 40);
      assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('kraken', sym, depth)), sym);
    }
    assert.deepEqual(handler.counters, { malformed: 0, unknown: 0 });
    await c.close();
  });

  it('sends no delete for a level pushed out of range and re-publishes levels moving back into it', async () => {
    const { c, handler } = await subscribed('d', ['BTC/USD'], 10);
    // A client that never truncates ends with more levels than the depth: pushed-out levels get no delete.
    const naive = new Map<string, string>();
    let republished = 0;
    for (let i = 0; i < 80; i++) {
      const before = new Set(emu.trueBook('kraken', 'BTC/USD', 10).bids.map((l) => canonicalDecimal(l[0])));
      const from = c.frames.length;
      emu.step(1);
      await settled(emu, c);
      for (const f of c.frames.slice(from)) {
        if (!f.startsWith('{"channel":"book","type":"update"')) continue;
        const bids = (parse(f).data as { bids: { price: number; qty: number }[] }[])[0]?.bids ?? [];
        for (const l of bids) {
          const px = String(l.price);
          if (l.qty === 0) naive.delete(px);
          else {
            if (!before.has(px) && naive.has(px)) republished++; // left the view without a delete, back now
            naive.set(px, String(l.qty));
          }
        }
      }
    }
    assert.ok(naive.size > 10, `a non-truncating client holds ${naive.size} bids`);
    assert.ok(republished > 0, 'some level came back into range and was sent again');
    const b = bookOf(handler, 'BTC/USD');
    assert.equal(b?.status, 'in_sync');
    assert.equal(b.checksumFailures, 0);
    assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('kraken', 'BTC/USD', 10)));
    await c.close();
  });

  it('corrupt-checksum, skip-sequence and reorder-frames show as checksum mismatches in our handler; a resubscribe resyncs', async () => {
    const { c, handler } = await subscribed('f', ['BTC/USD'], 10);
    const b = bookOf(handler, 'BTC/USD') as TrackedBook;
    assert.equal(b.status, 'in_sync');
    emu.inject('kraken', { kind: 'corrupt-checksum', connection: c.id });
    emu.step(3);
    await settled(emu, c);
    assert.equal(b.checksumFailures, 1);
    assert.equal(b.status, 'stale');
    assert.equal(emu.stats.faultsFired['corrupt-checksum'], 1);
    const resync = async () => {
      send(c, handler, 'f', { method: 'unsubscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10 } });
      send(c, handler, 'f', { method: 'subscribe', params: { channel: 'book', symbol: ['BTC/USD'], depth: 10 } });
      await c.waitFor(() => b.status === 'in_sync', 'resync');
    };
    for (const kind of ['skip-sequence', 'reorder-frames'] as const) {
      await resync();
      const failures: number = b.checksumFailures;
      emu.inject('kraken', { kind, connection: c.id });
      // With depth 10 every level is in the checksum, so a lost or late update shows at the next one.
      for (let i = 0; i < 20 && b.checksumFailures === failures; i++) {
        emu.step(1);
        await settled(emu, c);
      }
      assert.equal(b.checksumFailures, failures + 1, kind);
      assert.equal(b.status, 'stale');
    }
    await resync();
    assert.equal(b.resyncs, 3);
    await c.close();
  });

  it('duplicate-frame is harmless (absolute quantities) and malformed-frame is counted as malformed', async () => {
    const { c, handler } = await subscribed('m', ['ETH/USD'], 25);
    emu.inject('kraken', { kind: 'duplicate-frame', connection: c.id });
    emu.step(5);
    await settled(emu, c);
    const updates = bookFrames(c, 'update');
    assert.ok(
      updates.some((f, i) => f === updates[i + 1]),
      'one update arrived twice',
    );
    const b = bookOf(handler, 'ETH/USD') as TrackedBook;
    assert.equal(b.status, 'in_sync');
    assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('kraken', 'ETH/USD', 25)));
    emu.inject('kraken', { kind: 'malformed-frame', connection: c.id });
    emu.step(1);
    await settled(emu, c);
    assert.equal(handler.counters.malformed, 1);
    await c.close();
  });

  it('answers {"method":"ping"} with pong (req_id echoed) unless suppressed, sends heartbeats, and rejects bad subscriptions', async () => {
    const { c } = await subscribed('p', ['BTC/USD'], 10);
    c.ws.send(JSON.stringify({ method: 'ping', req_id: 42 }));
    const pong = parse(await c.waitFor((f) => f.includes('"method":"pong"'), 'pong'));
    assert.equal(pong.req_id, 42);
    emu.step(5);
    await c.waitFor((f) => f === '{"channel":"heartbeat"}', 'heartbeat');
    emu.inject('kraken', { kind: 'suppress-pong', connection: c.id });
    c.ws.send(JSON.stringify({ method: 'ping', req_id: 43 }));
    c.ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'book', symbol: ['XYZ/USD'] }, req_id: 44 }));
    const err = parse(await c.waitFor((f) => f.includes('"req_id":44'), 'error'));
    assert.equal(err.success, false);
    assert.match(String(err.error), /XYZ\/USD/);
    c.ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'book', symbol: ['ETH/USD'], depth: 7 } }));
    await c.waitFor((f) => f.includes('depth'), 'depth error');
    assert.equal(c.frames.filter((f) => f.includes('"method":"pong"')).length, 1);
    await c.close();
  });

  it("serves real-shaped AssetPairs and Depth over REST, and snapshot-429 with Kraken's error body", async () => {
    const { restBase } = emu.endpoints('kraken');
    const pairs = (await (await fetch(`${restBase}/0/public/AssetPairs`)).json()) as {
      error: string[];
      result: Record<string, { wsname: string; pair_decimals: number; lot_decimals: number; tick_size: string }>;
    };
    assert.deepEqual(pairs.error, []);
    assert.deepEqual(pairs.result.XXBTZUSD?.wsname, 'XBT/USD');
    assert.equal(pairs.result.XXBTZUSD?.pair_decimals, 1);
    assert.equal(pairs.result.XETHZUSD?.lot_decimals, 8);
    const one = (await (await fetch(`${restBase}/0/public/AssetPairs?pair=XBTUSD`)).json()) as { result: object };
    assert.deepEqual(Object.keys(one.result), ['XXBTZUSD']);
    emu.inject('kraken', { kind: 'snapshot-429' });
    const limited = await fetch(`${restBase}/0/public/Depth?pair=XBTUSD&count=5`);
    assert.equal(limited.status, 429);
    assert.deepEqual(await limited.json(), { error: ['EGeneral:Too many requests'] });
    const depth = (await (await fetch(`${restBase}/0/public/Depth?pair=XBTUSD&count=5`)).json()) as {
      result: { XXBTZUSD: { bids: [string, string, number][] } };
    };
    assert.deepEqual(
      canonical({ bids: depth.result.XXBTZUSD.bids.map((l) => [l[0], l[1]]), asks: [] }).bids,
      canonical(emu.trueBook('kraken', 'BTC/USD', 5)).bids,
    );
  });
});
