import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bookDelta, bookSnapshot, status } from '../../src/domain/events.ts';
import { ServedBook } from '../../src/services/served-book.ts';

const base = { venue: 'sim', symbol: 'BTC-USDT', tsRecvMs: 1_700_000_000_000 };
const snap = (seq: number, bid: string) =>
  bookSnapshot({ ...base, recvSeq: seq, seq, bids: [[bid, '1']], asks: [['200', '1']] });
const delta = (prev: number, seq: number, price: string, size: string) =>
  bookDelta({
    ...base,
    recvSeq: seq,
    firstSeq: seq,
    lastSeq: seq,
    prevSeq: prev,
    changes: [{ side: 'bid', price, size }],
  });

describe('ServedBook', () => {
  it('holds deltas that arrive before their snapshot and applies them once the snapshot comes', () => {
    const b = new ServedBook('sim', 'BTC-USDT');
    assert.equal(b.apply(delta(1, 2, '101', '2')), 'held');
    assert.equal(b.inSync, false);
    assert.equal(b.apply(snap(1, '100')), 'applied');
    assert.equal(b.inSync, true);
    assert.equal(b.seq, 2);
    assert.deepEqual(b.book.toJSON().bids, [
      { price: '101', size: '2' },
      { price: '100', size: '1' },
    ]);
  });

  it('ignores a redelivered delta and an older snapshot', () => {
    const b = new ServedBook('sim', 'BTC-USDT');
    b.apply(snap(1, '100'));
    b.apply(delta(1, 2, '101', '2'));
    assert.equal(b.apply(delta(1, 2, '101', '2')), 'ignored');
    assert.equal(b.apply(snap(1, '99')), 'ignored');
    assert.equal(b.updates, 2);
  });

  it('clears an in-sync book on a sequence gap and resyncs from the next snapshot', () => {
    const b = new ServedBook('sim', 'BTC-USDT');
    b.apply(snap(1, '100'));
    assert.equal(b.apply(delta(5, 6, '101', '2')), 'stale');
    assert.equal(b.status, 'stale');
    assert.equal(b.book.isEmpty, true, 'a book not in sync holds no levels');
    assert.equal(b.gaps, 1);
    assert.equal(b.apply(snap(7, '102')), 'applied');
    assert.equal(b.inSync, true);
    assert.equal(b.resyncs, 1);
  });

  it('goes stale on a newer stale status and ignores one older than its book', () => {
    const b = new ServedBook('sim', 'BTC-USDT');
    b.apply(snap(5, '100'));
    const st = (seq: number) => status({ ...base, recvSeq: seq, status: 'stale', reason: 'venue lost sync' });
    assert.equal(b.apply(st(4)), 'ignored');
    assert.equal(b.inSync, true);
    assert.equal(b.apply(st(6)), 'stale');
    assert.equal(b.book.isEmpty, true);
    assert.equal(b.apply(delta(6, 7, '101', '1')), 'held');
    assert.equal(b.apply(snap(3, '90')), 'ignored', 'a snapshot from before the loss of sync');
    assert.equal(b.apply(snap(8, '103')), 'applied');
  });
});
