/**
 * src/venues/crc32-combine.ts computes zlib's CRC-32 in pieces: `crc32Combine` is zlib's crc32_combine
 * (the CRC-32 of A then B from the CRC-32s of A and B and B's length), and a register continued over a
 * fragment known only by its update from a zero register and its length (`crcAppend`), over a text
 * (`crcUpdate`) or over bytes (`crcBytes`) ends where `zlib.crc32` of the whole text does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { CRC_INIT, crc32Combine, crcAppend, crcByte, crcBytes, crcUpdate } from '../../src/venues/crc32-combine.ts';

const bytes = fc.uint8Array({ maxLength: 300 });

test('crc32Combine of two parts equals zlib.crc32 of the whole, at every split', () => {
  fc.assert(
    fc.property(bytes, fc.nat(), (b, at) => {
      const i = at % (b.length + 1);
      const a = b.subarray(0, i);
      const c = b.subarray(i);
      assert.equal(crc32Combine(crc32(a), crc32(c), c.length), crc32(b));
    }),
    { numRuns: 500 },
  );
  assert.equal(crc32Combine(crc32('abc'), crc32(''), 0), crc32('abc'), 'an empty second part changes nothing');
  assert.equal(crc32Combine(0, crc32('abc'), 3), crc32('abc'), 'an empty first part (CRC 0) gives the second');
});

test('crc32Combine handles lengths far beyond any table (megabytes of zeros)', () => {
  const zeros = new Uint8Array(3_000_017);
  const head = Buffer.from('checksum');
  assert.equal(crc32Combine(crc32(head), crc32(zeros), zeros.length), crc32(Buffer.concat([head, zeros])));
  assert.throws(() => crc32Combine(1, 2, -1), RangeError);
  assert.throws(() => crc32Combine(1, 2, 1.5), RangeError);
});

test('registers continued by crcAppend, crcUpdate, crcBytes and crcByte end at zlib.crc32 of the joined text', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary-ascii', maxLength: 400 }), { maxLength: 12 }), (parts) => {
      const want = crc32(parts.join(':'));
      let viaAppend = CRC_INIT;
      let viaText = CRC_INIT;
      let viaBytes = CRC_INIT;
      parts.forEach((p, k) => {
        if (k > 0) {
          viaAppend = crcByte(viaAppend, 58);
          viaText = crcByte(viaText, 58);
          viaBytes = crcByte(viaBytes, 58);
        }
        viaAppend = crcAppend(viaAppend, crcUpdate(0, p), p.length);
        viaText = crcUpdate(viaText, p);
        const b = Buffer.from(`..${p}.`, 'latin1');
        viaBytes = crcBytes(viaBytes, b, 2, 2 + p.length);
      });
      assert.equal((viaAppend ^ CRC_INIT) >>> 0, want);
      assert.equal((viaText ^ CRC_INIT) >>> 0, want);
      assert.equal((viaBytes ^ CRC_INIT) >>> 0, want);
    }),
    { numRuns: 300 },
  );
  assert.ok(Number.isNaN(crcUpdate(0, 'é')), 'a text outside ASCII is refused');
});
