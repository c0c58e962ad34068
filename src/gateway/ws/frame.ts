/**
 * Server-to-client WebSocket frames built by hand (RFC 6455 section 5.2), so that a publication is encoded and
 * framed once and the same bytes are written to every subscriber's socket. Server frames are never masked,
 * so the bytes do not depend on the connection.
 */

/** Header of an unmasked final text frame carrying `length` payload bytes. */
function header(length: number): Buffer {
  if (length < 126) {
    const h = Buffer.allocUnsafe(2);
    h[0] = 0x81;
    h[1] = length;
    return h;
  }
  if (length < 65_536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x81;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x81;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/** One text frame (header and payload in one buffer) whose payload is the concatenation of `parts`. */
export function textFrame(parts: readonly Buffer[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const h = header(length);
  return Buffer.concat([h, ...parts], h.length + length);
}

const BATCH_OPEN = Buffer.from('{"type":"batch","n":');
const BATCH_MESSAGES = Buffer.from(',"messages":[');
const COMMA = Buffer.from(',');
const BATCH_CLOSE = Buffer.from(']}');

/**
 * The payload of a batch of `messages` (each an encoded JSON object), in order, as parts to concatenate:
 * `{"type":"batch","n":N,"messages":[m1,...,mN]}` (docs/WS_PROTOCOL.md, "Batched frames").
 */
export function batchParts(messages: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [BATCH_OPEN, Buffer.from(String(messages.length)), BATCH_MESSAGES];
  for (let i = 0; i < messages.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(messages[i] as Buffer);
  }
  parts.push(BATCH_CLOSE);
  return parts;
}

/** One text frame holding `messages` as a batch. */
export function batchFrame(messages: readonly Buffer[]): Buffer {
  return textFrame(batchParts(messages));
}
