/**
 * Book deltas and trades go to both engines in PostgreSQL's binary COPY format (src/store/copy-buffer.ts
 * `BinaryCopyBuffer`): they must read back exactly the values appended, at the edges of the encoding
 * (times around PostgreSQL's 2000 epoch and far in the future, fractional ms, ids beyond 32 bits up to the
 * largest safe integer, nulls, a delta without changes, numerics around the base-10000 digit groups).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { bookDelta, trade } from '../../src/domain/index.ts';
import { openStore, type StoreOptions } from '../../src/store/index.ts';

const PG_URL = process.env.QOB_TEST_PG_URL;
const PRICES = [
  '0.00000001',
  '0.0001',
  '0.5',
  '1',
  '9999.9999',
  '10000',
  '10000.0001',
  '65000.12',
  '123456789012.123456',
  '123456789012345678.123456789012345678',
];
const TIMES = [0, 946_684_799_999, 946_684_800_000, 1_700_000_000_123.75, 4_102_444_800_001, 253_402_000_000_000.5];

async function roundTrip(options: StoreOptions) {
  const store = await openStore({ ...options, writer: { flushIntervalMs: 0 }, snapshots: { intervalMs: 0 } });
  try {
    TIMES.forEach((t, i) => {
      store.append(
        bookDelta({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsRecvMs: t,
          tsEventMs: i === 0 ? null : t - 0.5,
          recvSeq: Number.MAX_SAFE_INTEGER - i,
          firstSeq: i === 1 ? null : 4_294_967_296 + i,
          lastSeq: i === 1 ? null : 3 * 4_294_967_296 + i,
          prevSeq: i === 2 ? 4_294_967_295 : null,
          changes:
            i === 5
              ? []
              : [
                  { side: 'bid', price: '65000.10', size: '0.00100' },
                  { side: 'ask', price: '65000.2', size: '0' },
                ],
        }),
      );
    });
    PRICES.forEach((price, i) => {
      store.append(
        trade({
          venue: 'binance',
          symbol: 'BTC-USDT',
          tsRecvMs: 1_700_000_000_000 + i,
          tsEventMs: i === 0 ? null : 1_700_000_000_000 - i,
          recvSeq: i,
          price,
          size: PRICES[PRICES.length - 1 - i] as string,
          aggressor: i % 2 === 0 ? 'buy' : 'sell',
          tradeId: i === 1 ? null : `t${i}`,
        }),
      );
    });
    await store.flush();
    const trades = await store.sqlEngine.query(
      `select price::text as price, size::text as size, ts_event_ms, aggressor, trade_id from trades order by seq`,
    );
    assert.deepEqual(
      trades.map((r) => ({ ...r })),
      PRICES.map((price, i) => ({
        price,
        size: PRICES[PRICES.length - 1 - i],
        ts_event_ms: i === 0 ? null : 1_700_000_000_000 - i,
        aggressor: i % 2 === 0 ? 'buy' : 'sell',
        trade_id: i === 1 ? null : `t${i}`,
      })),
    );
    return await store.sqlEngine.query(
      `select (extract(epoch from ts) * 1000)::bigint::text as ts, venue, symbol, ts_event_ms, ts_recv_ms,
         recv_seq::text, first_seq::text, last_seq::text, prev_seq::text, bids, asks
       from book_deltas order by seq`,
    );
  } finally {
    await store.close();
  }
}

function expected() {
  return TIMES.map((t, i) => ({
    ts: String(Math.floor(t)),
    venue: 'binance',
    symbol: 'BTC-USDT',
    ts_event_ms: i === 0 ? null : t - 0.5,
    ts_recv_ms: t,
    recv_seq: String(Number.MAX_SAFE_INTEGER - i),
    first_seq: i === 1 ? null : String(4_294_967_296 + i),
    last_seq: i === 1 ? null : String(3 * 4_294_967_296 + i),
    prev_seq: i === 2 ? '4294967295' : null,
    bids: i === 5 ? '' : '65000.1:0.001',
    asks: i === 5 ? '' : '65000.2:0',
  }));
}

test('book deltas and trades written in binary COPY read back exactly on the embedded engine', async () => {
  const rows = await roundTrip({ engine: 'embedded', dataDir: undefined, timescale: 'off' });
  assert.deepEqual(
    rows.map((r) => ({ ...r })),
    expected(),
  );
});

test('book deltas and trades written in binary COPY read back exactly into TimescaleDB hypertables (embedded build)', async () => {
  const rows = await roundTrip({ engine: 'embedded', dataDir: undefined, timescale: 'on' });
  assert.deepEqual(
    rows.map((r) => ({ ...r })),
    expected(),
  );
});

test('book deltas and trades written in binary COPY to a PostgreSQL server read back the same values', async (t) => {
  if (PG_URL === undefined) {
    t.skip('QOB_TEST_PG_URL not set');
    return;
  }
  const schema = `qob_copybin_${process.pid}`;
  try {
    const rows = await roundTrip({ engine: 'postgres', url: PG_URL, schema });
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      expected(),
    );
  } finally {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  }
});
