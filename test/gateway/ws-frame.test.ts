/** Hand-built server frames (src/gateway/ws/frame.ts) decode with the `ws` library's own receiver. */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { batchFrame, textFrame } from '../../src/gateway/ws/frame.ts';

type Receiver = Writable & EventEmitter;
const { Receiver } = (await import('ws')) as unknown as { Receiver: new (o: object) => Receiver };

/** Every text message `ws` decodes from `bytes`, written in chunks of `chunk` bytes. */
function decode(bytes: Buffer, chunk = bytes.length): Promise<string[]> {
  const r = new Receiver({ isServer: false, skipUTF8Validation: false });
  const out: string[] = [];
  r.on('message', (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, false, 'a text frame');
    out.push(data.toString('utf8'));
  });
  return new Promise((resolve, reject) => {
    r.on('error', reject);
    for (let i = 0; i < bytes.length; i += chunk) r.write(bytes.subarray(i, i + chunk));
    r.end(() => resolve(out));
  });
}

describe('/ws hand-built frames', () => {
  it('a text frame carries its payload exactly at every length encoding (7-bit, 16-bit, 64-bit)', async () => {
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = 'x'.repeat(Math.max(0, n - 2)).padStart(n, '"');
      const got = await decode(textFrame([Buffer.from(text)]), 1000);
      assert.deepEqual(got, [text], `length ${n}`);
    }
  });

  it('a frame built from several parts carries their concatenation', async () => {
    const got = await decode(textFrame([Buffer.from('{"a":'), Buffer.from('"é"'), Buffer.from('}')]));
    assert.deepEqual(got, ['{"a":"é"}']);
  });

  it('a batch frame is one JSON message whose n counts the messages it holds, in order', async () => {
    const msgs = [
      { type: 'delta', channel: 'book.sim.A-B', seq: 3 },
      { type: 'delta', channel: 'book.sim.C-D', seq: 9 },
    ];
    const got = await decode(batchFrame(msgs.map((m) => Buffer.from(JSON.stringify(m)))));
    assert.equal(got.length, 1);
    assert.deepEqual(JSON.parse(got[0] as string), { type: 'batch', n: 2, messages: msgs });
  });
});
