import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.ts';
import { createBitfinexFeedHandler } from '../../src/venues/bitfinex/feed-handler.ts';
import type { TrackedBook, VenueFeedHandler } from '../../src/venues/feed-handler.ts';
import { type Client, canonical, connect, levelsOf, parse, settled } from './helpers.ts';

const SEQ_ALL = 65536;
const CHECKSUM = 131072;

function bookOf(handler: VenueFeedHandler, key: string): TrackedBook | undefined {
  return [...handler.books()].find((b) => b.key === key);
}

function send(c: Client, handler: VenueFeedHandler, conn: string, v: unknown): void {
  const text = JSON.stringify(v);
  handler.onSend(conn, text, Date.now());
  c.ws.send(text);
}

/** The trailing sequence number of every channel frame. */
function seqs(c: Client): number[] {
  return c.frames.filter((f) => f.startsWith('[')).map((f) => (JSON.parse(f) as number[]).at(-1) as number);
}

describe('emulator: Bitfinex v2', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ seed: 51, venues: ['bitfinex'], levels: 40 });
  });
  after(() => emu.close());

  async function subscribed(conn: string, flags: number, books: [string, string][]) {
    const handler = createBitfinexFeedHandler();
    const url = `${emu.endpoints('bitfinex').wsBase}/ws/2`;
    const c = await connect(emu, url, (f) => handler.onFrame(conn, f, Date.now()));
    handler.onConnect(conn, url, Date.now());
    send(c, handler, conn, { event: 'conf', flags });
    for (const [symbol, len] of books)
      send(c, handler, conn, { event: 'subscribe', channel: 'book', symbol, prec: 'P0', len });
    await c.waitFrames(2 + 2 * books.length);
    return { c, handler };
  }

  it('sends info, a conf ack, subscribed events, snapshots and updates with per-connection sequence numbers and checksums our handler verifies', async () => {
    const { c, handler } = await subscribed('a', SEQ_ALL | CHECKSUM, [
      ['tBTCUSD', '25'],
      ['tETHUSD', '100'],
    ]);
    const info = parse(c.frames[0] as string);
    assert.equal(info.event, 'info');
    assert.equal(info.version, 2);
    assert.deepEqual(parse(c.frames[1] as string), { event: 'conf', status: 'OK', flags: SEQ_ALL | CHECKSUM });
    const sub = parse(c.frames[2] as string);
    assert.equal(sub.event, 'subscribed');
    assert.equal(sub.len, '25');
    assert.equal(typeof sub.chanId, 'number');
    const snap = JSON.parse(c.frames[3] as string) as [number, [number, number, number][], number];
    assert.equal(snap[0], sub.chanId);
    assert.equal(snap[1].length, 50);
    assert.ok(snap[1].slice(0, 25).every((e) => e[2] > 0) && snap[1].slice(25).every((e) => e[2] < 0));
    emu.step(30);
    await settled(emu, c);
    assert.ok(c.frames.some((f) => f.includes(',"hb",')));
    assert.ok(c.frames.filter((f) => f.includes(',"cs",')).length > 30);
    const s = seqs(c);
    assert.deepEqual(
      s,
      s.map((_, i) => 1 + i),
      'one counter over snapshots, updates, checksums and heartbeats',
    );
    for (const [key, len] of [
      ['tBTCUSD', 25],
      ['tETHUSD', 100],
    ] as const) {
      const b = bookOf(handler, key);
      assert.equal(b?.status, 'in_sync', key);
      assert.equal(b.gaps, 0);
      assert.equal(b.checksumFailures, 0);
      assert.ok(b.checksumsVerified > 20);
      assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('bitfinex', key, len)), key);
    }
    assert.deepEqual(handler.counters, { malformed: 0, unknown: 0 });
    await c.close();
  });

  it('a len-1 book stays equal to the top of the true book (levels leaving the view are deleted first)', async () => {
    const { c, handler } = await subscribed('one', SEQ_ALL | CHECKSUM, [['tETHUSD', '1']]);
    emu.step(40);
    await settled(emu, c);
    const b = bookOf(handler, 'tETHUSD');
    assert.equal(b?.status, 'in_sync');
    assert.equal(b.checksumFailures, 0);
    assert.deepEqual(levelsOf(b.book), canonical(emu.trueBook('bitfinex', 'tETHUSD', 1)));
    await c.close();
  });

  it('without flags frames carry no sequence number and no checksum', async () => {
    const { c, handler } = await subscribed('none', 0, [['tBTCUSD', '25']]);
    emu.step(10);
    await settled(emu, c);
    const data = c.frames.filter((f) => f.startsWith('['));
    assert.ok(data.length > 10);
    assert.ok(data.every((f) => !f.includes('"cs"') && (JSON.parse(f) as unknown[]).length === 2));
    assert.deepEqual(
      levelsOf((bookOf(handler, 'tBTCUSD') as TrackedBook).book),
      canonical(emu.trueBook('bitfinex', 'tBTCUSD', 25)),
    );
    await c.close();
  });

  for (const kind of ['skip-sequence', 'duplicate-frame', 'reorder-frames'] as const) {
    it(`${kind} shows as a sequence gap in our handler`, async () => {
      const { c, handler } = await subscribed(kind, SEQ_ALL | CHECKSUM, [['tBTCUSD', '25']]);
      emu.inject('bitfinex', { kind, connection: c.id });
      emu.step(4);
      await settled(emu, c);
      const b = bookOf(handler, 'tBTCUSD');
      assert.ok((b?.gaps ?? 0) >= 1);
      assert.equal(b?.status, 'stale');
      await c.close();
    });
  }

  it('corrupt-checksum shows as a checksum mismatch with the sequence intact; malformed-frame is counted', async () => {
    const { c, handler } = await subscribed('cs', SEQ_ALL | CHECKSUM, [['tETHUSD', '25']]);
    emu.inject('bitfinex', { kind: 'corrupt-checksum', connection: c.id });
    emu.step(3);
    await settled(emu, c);
    const b = bookOf(handler, 'tETHUSD');
    assert.equal(b?.checksumFailures, 1);
    assert.equal(b.gaps, 0);
    assert.equal(b.status, 'stale');
    emu.inject('bitfinex', { kind: 'malformed-frame', connection: c.id });
    emu.step(1);
    await settled(emu, c);
    assert.equal(handler.counters.malformed, 1);
    await c.close();
  });

  it('answers ping with pong (cid echoed) unless suppressed, refuses duplicates and bad symbols, and unsubscribes by chanId', async () => {
    const { c } = await subscribed('p', 0, [['tBTCUSD', '25']]);
    c.ws.send(JSON.stringify({ event: 'ping', cid: 9 }));
    assert.equal(parse(await c.waitFor((f) => f.includes('"pong"'), 'pong')).cid, 9);
    emu.inject('bitfinex', { kind: 'suppress-pong', connection: c.id });
    c.ws.send(JSON.stringify({ event: 'ping', cid: 10 }));
    c.ws.send(JSON.stringify({ event: 'subscribe', channel: 'book', symbol: 'tBTCUSD', len: '25' }));
    assert.equal(parse(await c.waitFor((f) => f.includes('"code":10301'), 'dup')).msg, 'subscribe: dup');
    c.ws.send(JSON.stringify({ event: 'subscribe', channel: 'book', symbol: 'tNOPE' }));
    await c.waitFor((f) => f.includes('symbol: invalid'), 'bad symbol');
    const chanId = parse(c.frames.find((f) => f.includes('"subscribed"')) as string).chanId;
    c.ws.send(JSON.stringify({ event: 'unsubscribe', chanId }));
    await c.waitFor((f) => f.includes('"unsubscribed"'), 'unsubscribed');
    const n = c.frames.length;
    emu.step(5);
    await settled(emu, c);
    assert.equal(c.frames.length, n, 'no frames after unsubscribing');
    assert.equal(c.frames.filter((f) => f.includes('"pong"')).length, 1);
    await c.close();
  });

  it('serves the exchange pair list and a P0 book over REST, and snapshot-429 with the ratelimit body', async () => {
    const { restBase } = emu.endpoints('bitfinex');
    assert.deepEqual(await (await fetch(`${restBase}/v2/conf/pub:list:pair:exchange`)).json(), [['BTCUSD', 'ETHUSD']]);
    emu.inject('bitfinex', { kind: 'snapshot-429' });
    const limited = await fetch(`${restBase}/v2/book/tBTCUSD/P0?len=25`);
    assert.equal(limited.status, 429);
    assert.deepEqual(await limited.json(), ['error', 11010, 'ratelimit: error']);
    const entries = (await (await fetch(`${restBase}/v2/book/tBTCUSD/P0?len=25`)).json()) as number[][];
    const bids = entries
      .filter((e) => (e[2] as number) > 0)
      .map((e) => [String(e[0]), String(e[2])] as [string, string]);
    assert.deepEqual(bids, canonical(emu.trueBook('bitfinex', 'tBTCUSD', 25)).bids);
  });
});
