/** The /ws fan-out: every subscriber gets every publication once, in order, while connections come and go. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type RawClient, rawClient, type Server, settleRaw, startServer, subscribe } from './ws-helpers.ts';

const CHANNEL = 'book.sim.BTC-USDT';

async function subscribed(url: string): Promise<RawClient> {
  const c = await rawClient(url);
  await subscribe(c, [CHANNEL], 10);
  return c;
}

/** The seqs of `c`'s book messages: its snapshot's, then each delta's. */
const seqs = (c: RawClient): number[] =>
  c.frames.filter((f) => f.type === 'snapshot' || f.type === 'delta').map((f) => f.seq as number);

describe('/ws fan-out', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('every connection gets each publication exactly once and in order while others join and leave between ticks', async () => {
    const s = await startServer();
    servers.push(s);
    const clients: RawClient[] = [];
    for (let i = 0; i < 7; i++) clients.push(await subscribed(s.url));
    const gone = new Set<RawClient>();
    for (let t = 1; t <= 40; t++) {
      s.sim.step(1);
      s.api.tick();
      if (t % 8 === 0) {
        // One leaves (the server drops it on close) and one joins: the fan-out order changes under the ticks.
        const staying = clients.filter((c) => !gone.has(c));
        const leaving = staying[Math.floor(staying.length / 2)] as RawClient;
        gone.add(leaving);
        leaving.ws.terminate();
        await leaving.closed;
        clients.push(await subscribed(s.url));
      }
    }
    const live = clients.filter((c) => !gone.has(c));
    for (const [i, c] of live.entries()) await settleRaw(c, i + 1);
    const last = Math.max(...live.flatMap(seqs));
    for (const c of live) {
      const got = seqs(c);
      const first = got[0] as number;
      assert.deepEqual(
        got,
        Array.from({ length: last - first + 1 }, (_, k) => first + k),
        'snapshot seq, then every later seq once, in order',
      );
    }
    assert.ok(last > 20, `the market published (${last})`);
    assert.equal(s.api.stats().clients, live.length);
    for (const c of live) c.ws.close();
  });
});
