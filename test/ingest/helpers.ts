/** Test doubles for the ingest tests: a scriptable socket and fetch, driven by a manual clock. */
import { EventEmitter } from 'node:events';
import type { SocketFactory, WebSocketLike } from '../../src/ingest/connection.ts';
import type { FetchLike } from '../../src/ingest/rest.ts';

export class FakeSocket extends EventEmitter implements WebSocketLike {
  readyState = 0;
  readonly url: string;
  readonly sent: string[] = [];
  pings = 0;
  terminated = false;

  constructor(url: string) {
    super();
    this.url = url;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }

  ping(): void {
    this.pings++;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  /** The server accepted the handshake. */
  open(): void {
    this.readyState = 1;
    this.emit('open');
  }

  message(text: string): void {
    this.emit('message', Buffer.from(text), false);
  }

  pong(): void {
    this.emit('pong');
  }

  /** The peer closed the socket (or the network failed with `error`). */
  drop(code = 1006, error?: Error): void {
    this.readyState = 3;
    if (error !== undefined) this.emit('error', error);
    this.emit('close', code, Buffer.from(''));
  }
}

export function fakeSockets(): { factory: SocketFactory; sockets: FakeSocket[]; live: () => FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    factory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    live: () => sockets.filter((s) => !s.terminated && s.readyState !== 3),
  };
}

export interface FakeCall {
  readonly url: string;
  readonly signal: AbortSignal;
  resolve(status: number, body: string, headers?: Record<string, string>): void;
  fail(error: Error): void;
}

/** A fetch whose responses the test gives by hand, in request order. */
export function fakeFetch(): { fetch: FetchLike; calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const fetch: FetchLike = (url, init) =>
    new Promise((resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      calls.push({
        url,
        signal: init.signal,
        resolve: (status, body, headers = {}) =>
          resolve({
            status,
            headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
            text: async () => body,
          }),
        fail: (e) => reject(e),
      });
    });
  return { fetch, calls };
}

/** Lets pending promise callbacks run. */
export async function tick(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
