/**
 * One emulated WebSocket connection: the bounded send path (a slow client is disconnected, as venues
 * do), the connection faults (stall, suppress-pong, slow-reads) and the frame faults taken from the
 * venue's armed list.
 */
import type { WebSocket } from 'ws';
import type { ArmedFault, FrameFaultKind } from './faults.ts';
import type { EmulatorConnection, UpdateMeta } from './venue.ts';

export interface SendLimits {
  /** Frames waiting in the slow-reads queue before the client is cut off. */
  readonly maxQueuedFrames: number;
  /** Bytes buffered in the socket before the client is cut off. */
  readonly maxBufferedBytes: number;
}

/** What a connection reports to the hub. */
export interface ConnectionHooks {
  frameSent(conn: EmuConnection): void;
  faultFired(conn: EmuConnection, kind: FrameFaultKind | 'slow-client'): void;
  pongSent(conn: EmuConnection): void;
  /** The first armed frame fault that matches this connection and frame, consumed; or undefined. */
  takeFrameFault(conn: EmuConnection, canCorrupt: boolean): ArmedFault | undefined;
}

interface Delayed {
  readonly frame: string;
  readonly dueMs: number;
}

export class EmuConnection implements EmulatorConnection {
  readonly id: string;
  readonly venue: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly subscriptions = new Set<string>();
  readonly settings = new Map<string, unknown>();
  readonly ws: WebSocket;
  stalled = false;
  suppressPong = false;
  delayMs = 0;
  /** Frames written to the socket so far. */
  framesSent = 0;
  private closed = false;
  private held: string | undefined;
  private readonly queue: Delayed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly limits: SendLimits;
  private readonly hooks: ConnectionHooks;

  constructor(
    id: string,
    venue: string,
    path: string,
    query: URLSearchParams,
    ws: WebSocket,
    limits: SendLimits,
    hooks: ConnectionHooks,
  ) {
    this.id = id;
    this.venue = venue;
    this.path = path;
    this.query = query;
    this.ws = ws;
    this.limits = limits;
    this.hooks = hooks;
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  sendReply(frame: string): void {
    this.deliver(frame);
  }

  sendData(frame: string): void {
    if (this.stalled) return;
    this.deliver(frame);
  }

  sendUpdate(frame: string, meta: UpdateMeta = {}): void {
    if (this.stalled || !this.open) return;
    const f = this.hooks.takeFrameFault(this, meta.corrupt !== undefined);
    if (f === undefined) {
      this.deliverUpdate(frame);
      return;
    }
    const kind = f.spec.kind as FrameFaultKind;
    this.hooks.faultFired(this, kind);
    switch (kind) {
      case 'drop-connection':
        this.terminate();
        return;
      case 'rotate':
        if (meta.farewell !== undefined) this.deliver(meta.farewell);
        this.close(1000, 'connection lifetime reached');
        return;
      case 'skip-sequence':
        return;
      case 'duplicate-frame':
        this.deliverUpdate(frame);
        this.deliverUpdate(frame);
        return;
      case 'reorder-frames':
        if (this.held !== undefined) this.deliver(this.held);
        this.held = frame;
        return;
      case 'corrupt-checksum':
        this.deliverUpdate(meta.corrupt === undefined ? frame : meta.corrupt());
        return;
      case 'malformed-frame':
        this.deliverUpdate(frame.slice(0, Math.max(1, frame.length >> 1)));
        return;
    }
  }

  pong(frame: string): boolean {
    if (this.suppressPong || !this.open) return false;
    this.deliver(frame);
    this.hooks.pongSent(this);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.shutdown();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.shutdown();
    this.ws.terminate();
  }

  /** Forget queued frames and timers (the socket is closing or closed). */
  shutdown(): void {
    this.closed = true;
    this.held = undefined;
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private deliverUpdate(frame: string): void {
    this.deliver(frame);
    if (this.held !== undefined) {
      const h = this.held;
      this.held = undefined;
      this.deliver(h);
    }
  }

  private deliver(frame: string): void {
    if (!this.open) return;
    if (this.delayMs > 0 || this.queue.length > 0) {
      if (this.queue.length >= this.limits.maxQueuedFrames) {
        this.slowClient();
        return;
      }
      this.queue.push({ frame, dueMs: performance.now() + this.delayMs });
      this.schedule();
      return;
    }
    this.write(frame);
  }

  private write(frame: string): void {
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.slowClient();
      return;
    }
    this.ws.send(frame);
    this.framesSent++;
    this.hooks.frameSent(this);
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const head = this.queue[0];
    if (head === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = performance.now();
        while (this.queue.length > 0 && (this.queue[0] as Delayed).dueMs <= now && this.open) {
          this.write((this.queue.shift() as Delayed).frame);
        }
        this.schedule();
      },
      Math.max(0, head.dueMs - performance.now()),
    );
    this.timer.unref();
  }

  private slowClient(): void {
    this.hooks.faultFired(this, 'slow-client');
    this.terminate();
  }
}
