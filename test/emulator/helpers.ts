/** Shared helpers for the emulator tests (not a test file): a plain `ws` client that records frames. */
import { WebSocket } from 'ws';
import type { L2Book } from '../../src/book/l2-book.ts';
import { canonicalDecimal } from '../../src/core/fixed.ts';
import type { Emulator, TextBook } from '../../src/emulator/index.ts';

/** Polls `cond` until it holds; fails with `what` after a generous deadline (never a timing assertion). */
export async function waitUntil(cond: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface Client {
  readonly ws: WebSocket;
  /** The emulator's id of this connection (for per-connection faults). */
  id: string;
  readonly url: string;
  /** Every text frame received, in order. */
  readonly frames: string[];
  readonly pongs: string[];
  closeCode: number | undefined;
  /** Waits until at least `n` frames have arrived. */
  waitFrames(n: number): Promise<void>;
  /** Waits for a frame matching `pred` and returns it. */
  waitFor(pred: (frame: string) => boolean, what: string): Promise<string>;
  waitClosed(): Promise<number>;
  close(): Promise<void>;
}

/** Opens a plain `ws` client on `url` of `emu`; `onFrame` sees every frame (feed a handler with it). */
export async function connect(emu: Emulator, url: string, onFrame?: (frame: string) => void): Promise<Client> {
  const ws = new WebSocket(url);
  const c: Client = {
    ws,
    id: '',
    url,
    frames: [],
    pongs: [],
    closeCode: undefined,
    waitFrames: (n) => waitUntil(() => c.frames.length >= n, `${n} frames (have ${c.frames.length})`),
    async waitFor(pred, what) {
      let found: string | undefined;
      await waitUntil(() => (found = c.frames.find(pred)) !== undefined, what);
      return found as string;
    },
    async waitClosed() {
      await waitUntil(() => c.closeCode !== undefined, 'socket closed');
      return c.closeCode as number;
    },
    async close() {
      if (c.closeCode !== undefined) return;
      ws.close();
      await c.waitClosed();
    },
  };
  ws.on('message', (data) => {
    const text = String(data);
    c.frames.push(text);
    onFrame?.(text);
  });
  ws.on('pong', (data) => c.pongs.push(String(data)));
  ws.on('close', (code) => {
    c.closeCode = code;
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  // The server registers a connection before it answers the upgrade: the newest one is ours.
  c.id = emu.connections().reduce((a, b) => (Number(b.id.split('#')[1]) > Number(a.split('#')[1] ?? 0) ? b.id : a), '');
  return c;
}

/** Waits until the client has received every frame the emulator has written to its socket so far. */
export async function settled(emu: Emulator, c: Client): Promise<void> {
  const sent = () => emu.connections().find((i) => i.id === c.id)?.framesSent ?? c.frames.length;
  await waitUntil(() => c.frames.length >= sent(), `all frames sent to ${c.id}`);
}

/** A book's levels as canonical text, to compare with the emulator's true book. */
export function levelsOf(book: L2Book, depth = Number.POSITIVE_INFINITY): TextBook {
  const side = (s: 'bid' | 'ask') =>
    book.levels(s, depth).map((l) => [canonicalDecimal(l.price), canonicalDecimal(l.size)] as [string, string]);
  return { bids: side('bid'), asks: side('ask') };
}

export function canonical(b: TextBook): TextBook {
  const side = (ls: [string, string][]) =>
    ls.map(([p, s]) => [canonicalDecimal(p), canonicalDecimal(s)] as [string, string]);
  return { bids: side(b.bids), asks: side(b.asks) };
}

export function parse(frame: string): Record<string, unknown> {
  return JSON.parse(frame) as Record<string, unknown>;
}
