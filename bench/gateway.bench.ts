/**
 * Gateway benchmark: many WebSocket clients on loopback subscribed to sim book channels, and REST requests
 * per second for a top-20 book.
 *
 * Three processes: this one orchestrates (mostly idle); a SERVER child runs the real platform + gateway
 * (`buildPlatform` -> `createSimVenue` -> `startApi`, i.e. `buildGateway` + `listenGateway` on 127.0.0.1:0),
 * pinned to core 0; a CLIENT child runs the load (raw TCP sockets speaking just enough WebSocket, or
 * autocannon for REST), pinned to core 1 (`taskset -a -p`; `--no-pin` lets the scheduler place them, which
 * is fairer when other work shares the cores). The server steps the sim once per publish period and then
 * calls the gateway's own `tick()`, so every period publishes one delta per channel; the gateway's own timer
 * still runs but finds nothing new to publish. When a tick takes longer than the period, ticks run back to
 * back: the delivered rate is then what the fan-out sustains.
 *
 * Each client subscribes to `--channels` book channels (default 16, one per sim symbol) and, by default,
 * asks for batched frames (`/ws?batch=1`: a tick's messages in one frame, docs/WS_PROTOCOL.md); `--no-batch`
 * gives one frame per message. "delivered" counts messages (each message of a batch), "frames" frames.
 * The load is cheap so that it measures the server, not the clients: every socket reads into one shared
 * buffer (`onread`); most clients look only at each frame's header and first bytes (message type, a batch's
 * `n`, pings to answer); 50 clients, evenly spread, are sampled: they read every message's channel, seq and
 * tsMs, check every channel's sequence and record latency samples. They find those fields with native
 * `indexOf` on the keys the gateway writes (the one load process plays every client, so a full JSON.parse of
 * every 16-message batch there would delay the clients read after it, which a real client's own parse does
 * not); every 50th frame of each is also parsed in full and must agree ("scans checked against JSON.parse").
 *
 * `--floor` adds, after each ws-N run, a floor-N run: the same clients against a bare `node:net` server
 * that writes one pre-built batch frame of the gateway's mean frame size per socket per tick (no platform,
 * no sim, no framework): what any Node server pays at least on this core for the same fan-out, measured in
 * the same session, so the gateway can be compared with it when the shared machine's load moves the
 * absolute numbers.
 *
 * Latency: publish time -> client receipt. The server records CLOCK_MONOTONIC (`process.hrtime`, one clock
 * for every process on the machine) right before each `tick()` together with `Date.now()`; the `tsMs` the
 * gateway writes into each delta is that tick's `Date.now()`, so it names the tick. Sampled clients record
 * CLOCK_MONOTONIC at receipt with each message's `tsMs`; the two are joined afterwards. So the latency covers
 * reading the books, diffing, serializing, the fan-out to every connection before this one, the kernel and
 * the client's own event loop. The server also reports its CPU share, event-loop delay and tick durations,
 * the clients their CPU share: where the time goes.
 *
 * `--json` prints {"results":[{"name":"ws-1000"|"ws-10000","clients","deliveredPerSec","p99Ms",...},
 * {"name":"rest-book","requestsPerSec",...}]}. Options: --clients 1000,10000 --duration S (10) --tick-ms
 * (20) --depth (20) --channels (16) --no-batch --no-pin --rest-duration S (10) --rest-connections (64)
 * --only ws|rest --profile (server --cpu-prof into .bench-prof/) --floor.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
/** The sim symbols: each client subscribes to one book channel per symbol. */
const symbolsFor = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'][i] ?? `SYM${i}-USDT`);
const DEFAULT_CHANNELS = 16;
/** Clients that parse every message (sequence checks, latency samples); the others only count. */
const SAMPLED = 50;
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

type Msg = Record<string, unknown> & { cmd?: string; type?: string };

// ---------------------------------------------------------------------------------------------- server
/** What the server child publishes with: the real gateway, or the floor (a bare TCP server). */
interface Publisher {
  readonly url: string;
  /** Advances the market (outside the latency window). */
  step(): void;
  /** Publishes once. */
  tick(): void;
  stats(): Counters;
  close(): Promise<void>;
}

async function gatewayPublisher(): Promise<Publisher> {
  const { loadConfig } = await import('../src/config/config.ts');
  const { systemClock, systemRandom } = await import('../src/ingest/clock.ts');
  const { silentLogger } = await import('../src/observability/logger.ts');
  const { buildPlatform } = await import('../src/platform.ts');
  const config = loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'qob-gw-bench-')), env: {}, flags: {} });
  const platform = buildPlatform(config, { logger: silentLogger(), clock: systemClock, random: systemRandom });
  const sim = platform.createSimVenue({ symbols: symbolsFor(num('--channels', DEFAULT_CHANNELS)), seed: 1 });
  sim.step(40);
  const api = await platform.startApi({ sim, host: '127.0.0.1', port: 0 });
  const ws = api.app.qobWs;
  if (ws === undefined) throw new Error('the gateway has no /ws API');
  return {
    url: api.url,
    step: () => sim.step(1),
    tick: () => ws.tick(),
    stats: () => ws.stats(),
    close: () => api.close().then(() => platform.close()),
  };
}

/**
 * The floor: a bare `node:net` server that speaks just enough WebSocket for the load (the 101 answer, one
 * snapshot per channel, then per tick ONE batch frame of the gateway's mean size, with each channel's seq + 1
 * and the tick's tsMs, built once and written to every socket in accept order). No platform, no sim, no
 * framework: what any Node gateway pays at least on this core, run against the same clients.
 */
async function floorPublisher(): Promise<Publisher> {
  const { createServer } = await import('node:net');
  const channels = symbolsFor(num('--channels', DEFAULT_CHANNELS)).map((sym) => `book.sim.${sym}`);
  const frameBytes = num('--frame-bytes', 4200);
  const socks: Socket[] = [];
  const accept = Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
  );
  const server = createServer({ noDelay: true }, (sock) => {
    let head = '';
    let upgraded = false;
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (upgraded) return; // subscribes and pongs: nothing to do
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      upgraded = true;
      const snaps = channels.map((channel) =>
        serverFrame(
          `{"type":"snapshot","channel":"${channel}","seq":0,"data":{"bids":[],"asks":[],"tsMs":${Date.now()}}}`,
        ),
      );
      sock.write(Buffer.concat([accept, ...snaps]));
      socks.push(sock);
    });
    sock.on('close', () => {
      const i = socks.indexOf(sock);
      if (i >= 0) socks.splice(i, 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const level = '["100000.01","0.12345678"]';
  const fixed = `{"type":"delta","channel":"${channels[0]}","seq":1000,"data":{"bids":[],"asks":[],"tsMs":1700000000000}}`;
  const perMessage = (frameBytes - 40) / channels.length;
  const levels = Math.max(0, Math.round((perMessage - fixed.length) / (level.length + 1)));
  const bids = Array.from({ length: levels }, () => level).join(',');
  let seq = 0;
  let framesSent = 0;
  let messagesSent = 0;
  return {
    url: `http://127.0.0.1:${port}`,
    step: () => {},
    tick: () => {
      seq++;
      const ts = Date.now();
      const msgs = channels.map(
        (channel) =>
          `{"type":"delta","channel":"${channel}","seq":${seq},"data":{"bids":[${bids}],"asks":[],"tsMs":${ts}}}`,
      );
      const frame = serverFrame(`{"type":"batch","n":${msgs.length},"messages":[${msgs.join(',')}]}`);
      for (const sock of socks) sock.write(frame);
      framesSent += socks.length;
      messagesSent += socks.length * msgs.length;
    },
    stats: () => ({ framesSent, messagesSent, conflations: 0, slowDisconnects: 0 }),
    close: async () => {
      for (const sock of socks) sock.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An unmasked server text frame. */
function serverFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = Buffer.alloc(n < 126 ? 2 : n < 65_536 ? 4 : 10);
  head[0] = 0x81;
  if (n < 126) head[1] = n;
  else if (n < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeUInt32BE(n, 6);
  }
  return Buffer.concat([head, payload]);
}

async function serverRole(floor: boolean): Promise<void> {
  const tickMs = num('--tick-ms', 20);
  const pub = floor ? await floorPublisher() : await gatewayPublisher();
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const eld = monitorEventLoopDelay({ resolution: 1 });
  let cpu0 = process.cpuUsage();

  let recording = false;
  let running = false; // the market starts once every client is connected
  const ticks = new Map<number, number>(); // tsMs -> monotonic µs at tick start
  let tickCount = 0;
  let tickBusyUs = 0;
  let maxTickUs = 0;
  const timer = setInterval(() => {
    if (!running) return;
    pub.step();
    const tsMs = Date.now();
    const t0 = monoUs();
    pub.tick();
    const dt = monoUs() - t0;
    if (!recording) return;
    ticks.set(tsMs, t0);
    tickCount++;
    tickBusyUs += dt;
    if (dt > maxTickUs) maxTickUs = dt;
  }, tickMs);

  process.on('message', (m: Msg) => {
    const reply = (x: Msg) => process.send?.({ ...x, re: m.cmd });
    switch (m.cmd) {
      case 'mem': {
        gc();
        gc();
        const u = process.memoryUsage();
        reply({ rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers });
        break;
      }
      case 'run':
        running = true;
        reply({});
        break;
      case 'record':
        recording = true;
        eld.reset();
        eld.enable();
        cpu0 = process.cpuUsage();
        ticks.clear();
        tickCount = 0;
        tickBusyUs = 0;
        maxTickUs = 0;
        reply({ stats: pub.stats(), atUs: monoUs() });
        break;
      case 'stop': {
        recording = false;
        eld.disable();
        const cpu = process.cpuUsage(cpu0);
        const u = process.memoryUsage();
        reply({
          stats: pub.stats(),
          atUs: monoUs(),
          ticks: [...ticks.entries()],
          tickCount,
          tickBusyUs,
          maxTickUs,
          cpuUs: cpu.user + cpu.system,
          eldP99Ms: eld.percentile(99) / 1e6,
          eldMaxMs: eld.max / 1e6,
          rss: u.rss,
        });
        break;
      }
      case 'exit':
        clearInterval(timer);
        void pub.close().then(() => process.exit(0));
        break;
    }
  });
  process.send?.({ type: 'ready', url: pub.url });
}

// ---------------------------------------------------------------------------------------------- ws load
interface ClientCfg {
  url: string;
  n: number;
  depth: number;
  channels: string[];
  batch: boolean;
  sampleEvery: number;
  addresses: number;
}

/** Bytes of a frame's payload a non-sampled client looks at: enough for the type, a batch's `n`, a ping. */
const PREFIX = 64;
const TYPE_AT = 9; // `{"type":"` is 9 bytes
const BATCH_N_AT = 20; // `{"type":"batch","n":` is 20 bytes

const MSG_OPEN = Buffer.from('{"type":"');
const CHANNEL_KEY = Buffer.from('"channel":"');
const SEQ_KEY = Buffer.from('"seq":');
const TS_KEY = Buffer.from('"tsMs":');
/** A sampled client checks its scan of every CHECK_EVERY-th frame against a full JSON.parse. */
const CHECK_EVERY = 50;

/** The non-negative integer written at `at` (-1 if no digit there). */
function intAt(b: Buffer, at: number): number {
  let n = -1;
  for (let i = at; i < b.length; i++) {
    const d = (b[i] as number) - 48;
    if (d < 0 || d > 9) break;
    n = n < 0 ? d : n * 10 + d;
  }
  return n;
}

/** What a sampled client reads of each book message: kind (1 delta, 2 snapshot), channel, seq, data's tsMs. */
interface Scan {
  count: number;
  kind: number[];
  channel: string[];
  seq: number[];
  tsMs: number[];
}

/**
 * Reads every book message of one frame payload (a delta, a snapshot or a batch of them) into `out`: what a
 * client needs to check sequence and latency, found by the keys the gateway writes in a fixed order (type,
 * channel, seq, data) with native `indexOf`, instead of building every level of a full JSON.parse in the one
 * process that plays all clients. Returns false when the payload is not a book message or a batch (control
 * frames: the caller parses those), or when a message lacks a field or a batch's `n` is not its count.
 */
function scanFrame(p: Buffer, out: Scan): boolean {
  out.count = 0;
  const k = p[TYPE_AT];
  let m: number;
  let n = -1;
  if (k === 0x62 /* b */) {
    n = intAt(p, BATCH_N_AT);
    m = p.indexOf(MSG_OPEN, 1);
  } else if (k === 0x64 /* d */ || (k === 0x73 /* s */ && p[TYPE_AT + 1] === 0x6e) /* n */) m = 0;
  else return false;
  while (m >= 0) {
    const next = p.indexOf(MSG_OPEN, m + 1);
    const end = next < 0 ? p.length : next;
    const t = p[m + TYPE_AT];
    const kind = t === 0x64 ? 1 : t === 0x73 && p[m + TYPE_AT + 1] === 0x6e ? 2 : 0;
    const ci = p.indexOf(CHANNEL_KEY, m);
    const si = p.indexOf(SEQ_KEY, m);
    const ti = p.indexOf(TS_KEY, m);
    if (kind === 0 || ci < 0 || ci >= end || si < 0 || si >= end) return false;
    const cs = ci + CHANNEL_KEY.length;
    const i = out.count++;
    out.kind[i] = kind;
    out.channel[i] = p.toString('latin1', cs, p.indexOf(0x22, cs));
    out.seq[i] = intAt(p, si + SEQ_KEY.length);
    out.tsMs[i] = ti >= 0 && ti < end ? intAt(p, ti + TS_KEY.length) : -1;
    m = next;
  }
  return n < 0 ? out.count === 1 : out.count === n;
}

/** Whether `scan` holds exactly the book messages of the parsed frame `f` (the scanner's own check). */
function scanAgrees(f: { type: string; messages?: unknown[] }, scan: Scan): boolean {
  const msgs = (f.type === 'batch' ? f.messages : [f]) as {
    type: string;
    channel: string;
    seq: number;
    data?: { tsMs?: number };
  }[];
  if (msgs.length !== scan.count) return false;
  return msgs.every(
    (m, i) =>
      (m.type === 'delta' ? 1 : m.type === 'snapshot' ? 2 : 0) === scan.kind[i] &&
      m.channel === scan.channel[i] &&
      m.seq === scan.seq[i] &&
      (typeof m.data?.tsMs === 'number' ? m.data.tsMs : -1) === scan.tsMs[i],
  );
}

/** A masked client text frame (mask key 0: the payload bytes are unchanged, RFC 6455 5.3). */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head =
    n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255, 0, 0, 0, 0]);
  return Buffer.concat([head, payload]);
}

interface RawConn {
  readonly sock: Socket;
  readonly sampled: boolean;
  handshake: boolean;
  hsText: string;
  /** Fast path: header and payload prefix being collected, payload bytes left to skip. */
  readonly hdr: Buffer;
  hdrLen: number;
  hl: number;
  need: number;
  plen: number;
  skip: number;
  /** Sampled path: bytes not yet parsed, and book frames read so far. */
  acc: Buffer;
  scanned: number;
  readonly lastSeq: Map<string, number>;
  snapshots: number;
  ready: boolean;
}

/**
 * The load: raw TCP sockets speaking just enough WebSocket (handshake, unmasked server frames, masked client
 * frames), all reading into one shared buffer (`onread`), so a read costs no allocation. A non-sampled
 * client looks only at each frame's header and first bytes: it counts messages (a batch frame counts its
 * `n`) and answers pings; a sampled client (1 in `sampleEvery`) parses every frame, checks each channel's
 * sequence and records (tsMs, receipt time) for the latency.
 */
async function wsClientRole(cfg: ClientCfg): Promise<void> {
  const { connect } = await import('node:net');
  const u = new URL(cfg.url);
  const host = u.hostname;
  const port = Number(u.port);
  const path = cfg.batch ? '/ws?batch=1' : '/ws';
  const request =
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const subscribe = Buffer.concat(
    cfg.channels.map((channel) => clientFrame(JSON.stringify({ op: 'subscribe', channel, depth: cfg.depth }))),
  );
  let measuring = false;
  let delivered = 0;
  let frames = 0;
  let bytes = 0;
  let ready = 0;
  let failed = 0;
  let closedEarly = 0;
  let closingFrames = 0;
  let gaps = 0;
  let sampleFrames = 0;
  let sampleSnapshots = 0;
  let malformed = 0;
  let scanChecks = 0;
  let scanMismatches = 0;
  const scan: Scan = { count: 0, kind: [], channel: [], seq: [], tsMs: [] };
  const samples: number[] = []; // flat pairs: tsMs, receipt monotonic µs
  const conns: RawConn[] = [];
  const shared = Buffer.allocUnsafe(256 * 1024);

  const pong = (c: RawConn, payload: Buffer): void => {
    const f = JSON.parse(payload.toString()) as { id: number };
    c.sock.write(clientFrame(JSON.stringify({ op: 'pong', id: f.id })));
  };

  const markSnapshot = (c: RawConn): void => {
    if (c.ready || ++c.snapshots < cfg.channels.length) return;
    c.ready = true;
    ready++;
  };

  /**
   * Fast path: one frame whose header starts at `at` in `a` (`hl` header bytes, `plen` payload bytes) with its
   * payload prefix up to `prefixEnd`.
   */
  const fastFrame = (c: RawConn, a: Buffer, at: number, hl: number, plen: number, prefixEnd: number): void => {
    if (((a[at] as number) & 0x0f) !== 1) return;
    const p = at + hl;
    const k = a[p + TYPE_AT];
    let n = 0;
    if (k === 0x64 /* d */) n = 1;
    else if (k === 0x73 /* s */ && a[p + TYPE_AT + 1] === 0x6e /* n */) {
      n = 1;
      markSnapshot(c);
    } else if (k === 0x62 /* b */) {
      for (let i = p + BATCH_N_AT; i < prefixEnd; i++) {
        const d = (a[i] as number) - 48;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
    } else if (k === 0x70 /* p */ && a[p + TYPE_AT + 1] === 0x69 /* i */ && plen <= PREFIX) {
      pong(c, a.subarray(p, prefixEnd));
    } else if (k === 0x63 /* c */) closingFrames++;
    if (measuring) {
      delivered += n;
      frames++;
      bytes += hl + plen;
    }
  };

  const feedFast = (c: RawConn, buf: Buffer, from: number, end: number): void => {
    let i = from;
    while (i < end) {
      if (c.skip > 0) {
        const t = Math.min(c.skip, end - i);
        c.skip -= t;
        i += t;
        continue;
      }
      // A frame whose header and payload prefix are all in this read is looked at in place.
      if (c.hdrLen === 0 && end - i >= 10) {
        const l7 = (buf[i + 1] as number) & 0x7f;
        const hl = l7 === 126 ? 4 : l7 === 127 ? 10 : 2;
        const plen = hl === 2 ? l7 : hl === 4 ? buf.readUInt16BE(i + 2) : buf.readUInt32BE(i + 6);
        const prefixEnd = i + hl + Math.min(plen, PREFIX);
        if (prefixEnd <= end) {
          fastFrame(c, buf, i, hl, plen, prefixEnd);
          c.skip = hl + plen;
          continue;
        }
      }
      c.hdr[c.hdrLen++] = buf[i++] as number;
      if (c.hdrLen === 2) {
        const l7 = (c.hdr[1] as number) & 0x7f;
        c.hl = l7 === 126 ? 4 : l7 === 127 ? 10 : 2;
        if (c.hl === 2) {
          c.plen = l7;
          c.need = 2 + Math.min(l7, PREFIX);
        } else c.need = c.hl;
      } else if (c.hdrLen === c.hl && c.hl > 2) {
        c.plen = c.hl === 4 ? c.hdr.readUInt16BE(2) : c.hdr.readUInt32BE(6);
        c.need = c.hl + Math.min(c.plen, PREFIX);
      }
      if (c.hdrLen >= 2 && c.hdrLen === c.need) {
        fastFrame(c, c.hdr, 0, c.hl, c.plen, c.need);
        c.skip = c.plen - (c.need - c.hl);
        c.hdrLen = 0;
        c.need = 2;
      }
    }
  };

  /** Sampled path: the book messages of one frame, as read into `scan`. */
  const sampledMessages = (c: RawConn, recvUs: number): void => {
    for (let i = 0; i < scan.count; i++) {
      const channel = scan.channel[i] as string;
      const seq = scan.seq[i] as number;
      if (scan.kind[i] === 2) {
        c.lastSeq.set(channel, seq);
        markSnapshot(c);
        if (measuring) sampleSnapshots++;
      } else {
        const prev = c.lastSeq.get(channel);
        if (prev === undefined || seq !== prev + 1) gaps++;
        c.lastSeq.set(channel, seq);
      }
      if (!measuring) continue;
      delivered++;
      sampleFrames++;
      const ts = scan.tsMs[i] as number;
      if (ts >= 0) samples.push(ts, recvUs);
    }
  };

  /**
   * Sampled path: every frame. Book frames are scanned for each message's channel, seq and tsMs (every
   * CHECK_EVERY-th one is also parsed in full and must agree); control frames are parsed.
   */
  const feedSampled = (c: RawConn, buf: Buffer, from: number, end: number, recvUs: number): void => {
    c.acc = c.acc.length === 0 ? Buffer.from(buf.subarray(from, end)) : Buffer.concat([c.acc, buf.subarray(from, end)]);
    let i = 0;
    const a = c.acc;
    while (a.length - i >= 2) {
      const l7 = (a[i + 1] as number) & 0x7f;
      const hl = l7 === 126 ? 4 : l7 === 127 ? 10 : 2;
      if (a.length - i < hl) break;
      const plen = hl === 2 ? l7 : hl === 4 ? a.readUInt16BE(i + 2) : a.readUInt32BE(i + 6);
      if (a.length - i < hl + plen) break;
      const payload = a.subarray(i + hl, i + hl + plen);
      i += hl + plen;
      if (((a[i - hl - plen] as number) & 0x0f) !== 1) continue;
      if (measuring) {
        frames++;
        bytes += hl + plen;
      }
      const k = payload[TYPE_AT];
      const book = k === 0x62 /* b */ || k === 0x64 /* d */ || (k === 0x73 /* s */ && payload[TYPE_AT + 1] === 0x6e);
      if (book) {
        if (!scanFrame(payload, scan)) {
          malformed++;
          continue;
        }
        if (++c.scanned % CHECK_EVERY === 0) {
          scanChecks++;
          let f: { type: string; messages?: unknown[] } | undefined;
          try {
            f = JSON.parse(payload.toString()) as typeof f;
          } catch {}
          if (f === undefined || !scanAgrees(f, scan)) scanMismatches++;
        }
        sampledMessages(c, recvUs);
        continue;
      }
      const f = JSON.parse(payload.toString()) as { type: string };
      if (f.type === 'ping') pong(c, payload);
      else if (f.type === 'closing') closingFrames++;
    }
    c.acc = i === a.length ? Buffer.alloc(0) : a.subarray(i);
  };

  const onData = (c: RawConn, nread: number, buf: Buffer): void => {
    let from = 0;
    if (c.handshake) {
      c.hsText += buf.toString('latin1', 0, nread);
      const at = c.hsText.indexOf('\r\n\r\n');
      if (at < 0) return;
      if (!c.hsText.startsWith('HTTP/1.1 101')) {
        c.sock.destroy();
        return;
      }
      from = nread - (c.hsText.length - (at + 4));
      c.handshake = false;
      c.hsText = '';
      c.sock.write(subscribe);
    }
    if (c.sampled) feedSampled(c, buf, from, nread, monoUs());
    else feedFast(c, buf, from, nread);
  };

  const open = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const localAddress = cfg.addresses > 1 ? `127.0.0.${1 + (i % cfg.addresses)}` : undefined;
      let c: RawConn | undefined;
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        if (!ok) failed++;
        resolve();
      };
      const sock = connect({
        host,
        port,
        ...(localAddress === undefined ? {} : { localAddress }),
        noDelay: true,
        onread: {
          buffer: shared,
          callback: (nread: number, buf: Uint8Array) => {
            if (c !== undefined) onData(c, nread, buf as Buffer);
            if (c?.ready === true) finish(true);
            return true;
          },
        },
      });
      c = {
        sock,
        sampled: i % cfg.sampleEvery === 0,
        handshake: true,
        hsText: '',
        hdr: Buffer.allocUnsafe(PREFIX + 10),
        hdrLen: 0,
        hl: 2,
        need: 2,
        plen: 0,
        skip: 0,
        acc: Buffer.alloc(0),
        scanned: 0,
        lastSeq: new Map(),
        snapshots: 0,
        ready: false,
      };
      conns.push(c);
      sock.on('connect', () => sock.write(request));
      sock.on('error', () => finish(false));
      sock.on('close', () => {
        if (measuring) closedEarly++;
        finish(false);
      });
    });

  const t0 = performance.now();
  // Bounded concurrency while connecting; the whole connect phase is bounded in time by the orchestrator.
  const CONCURRENCY = 200;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, cfg.n) }, async () => {
      while (next < cfg.n) await open(next++);
    }),
  );
  process.send?.({ type: 'connected', ready, failed, connectMs: Math.round(performance.now() - t0) });

  let startUs = 0;
  let cpu0 = process.cpuUsage();
  process.on('message', (m: Msg) => {
    if (m.cmd === 'start') {
      measuring = true;
      delivered = 0;
      frames = 0;
      bytes = 0;
      startUs = monoUs();
      cpu0 = process.cpuUsage();
    } else if (m.cmd === 'stop') {
      measuring = false;
      const windowUs = monoUs() - startUs;
      const cpu = process.cpuUsage(cpu0);
      process.send?.({
        type: 'result',
        delivered,
        frames,
        bytes,
        windowUs,
        cpuPct: ((cpu.user + cpu.system) / windowUs) * 100,
        gaps,
        sampleFrames,
        sampleSnapshots,
        malformed,
        scanChecks,
        scanMismatches,
        samples,
        closedEarly,
        closingFrames,
        open: conns.filter((c) => !c.sock.destroyed).length,
      });
    } else if (m.cmd === 'exit') {
      for (const c of conns) c.sock.destroy();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------- rest load
async function restClientRole(url: string, seconds: number, connections: number): Promise<void> {
  // autocannon ships no type declarations: the few fields used here.
  type Ac = (o: object) => Promise<{
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    throughput: { average: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  }>;
  const spec: string = 'autocannon';
  const autocannon = ((await import(spec)) as { default: Ac }).default;
  const target = `${url}/api/v1/books/sim/BTC-USDT?depth=20`;
  const check = await fetch(target);
  const body = (await check.json()) as { bids?: unknown[] };
  if (check.status !== 200 || body.bids?.length !== 20) throw new Error(`GET ${target}: ${check.status}`);
  const r = await autocannon({ url: target, connections, pipelining: 1, duration: seconds });
  process.send?.({
    type: 'result',
    requestsPerSec: r.requests.average,
    total: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerSec: r.throughput.average,
  });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- orchestrator
function pin(child: ChildProcess, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(child.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function spawnRole(role: string, extra: string[], core: number | undefined, execArgv: string[] = []): ChildProcess {
  const child = fork(SELF, ['--role', role, ...extra], {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (core !== undefined) pin(child, core);
  return child;
}

function waitFor(child: ChildProcess, pred: (m: Msg) => boolean, timeoutMs: number, what: string): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const on = (m: Msg) => {
      if (!pred(m)) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: child exited (${code})`));
    });
  });
}

function ask(child: ChildProcess, cmd: string, timeoutMs = 30_000): Promise<Msg> {
  const p = waitFor(child, (m) => m.re === cmd, timeoutMs, `server ${cmd}`);
  child.send({ cmd });
  return p;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** A server whose sim runs `channels` symbols (the REST run needs only BTC-USDT: 2, as before). */
/** `floorBytes`: start the floor server (bare TCP, frames of that many bytes) instead of the gateway. */
async function startServer(
  o: Opts,
  channels = o.channels,
  floorBytes?: number,
): Promise<{ child: ChildProcess; url: string }> {
  const execArgv = o.profile ? ['--cpu-prof', '--cpu-prof-dir=.bench-prof'] : [];
  const child = spawnRole(
    floorBytes === undefined ? 'server' : 'floor',
    [
      '--tick-ms',
      String(o.tickMs),
      '--channels',
      String(channels),
      ...(floorBytes === undefined ? [] : ['--frame-bytes', String(floorBytes)]),
    ],
    o.pin ? 0 : undefined,
    execArgv,
  );
  const ready = await waitFor(child, (m) => m.type === 'ready', 30_000, 'server ready');
  return { child, url: ready.url as string };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.send({ cmd: 'exit' });
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

interface Counters {
  framesSent: number;
  messagesSent: number;
  conflations: number;
  slowDisconnects: number;
}

interface WsResult {
  name: string;
  clients: number;
  connected: number;
  channelsPerClient: number;
  batch: boolean;
  deliveredPerSec: number;
  framesReceivedPerSec: number;
  serverMessagesPerSec: number;
  serverFramesPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  latencySamples: number;
  unmatchedSamples: number;
  sampledClients: number;
  seqGaps: number;
  /** Book frames of sampled clients the scanner could not read, and scans that disagreed with JSON.parse. */
  malformedFrames: number;
  scanChecks: number;
  scanMismatches: number;
  conflations: number;
  resyncSnapshots: number;
  slowDisconnects: number;
  memPerClientKiB: number;
  heapPerClientKiB: number;
  serverBusyPct: number;
  serverCpuPct: number;
  serverLoopDelayP99Ms: number;
  serverLoopDelayMaxMs: number;
  clientCpuPct: number;
  /** CPU per frame (server: sent, clients: received), comparable across runs on shared cores. */
  serverCpuUsPerFrame: number;
  clientCpuUsPerFrame: number;
  meanTickMs: number;
  maxTickMs: number;
  publishesPerSec: number;
  connectMs: number;
}

async function runWs(n: number, o: Opts, floorBytes?: number): Promise<WsResult> {
  const server = await startServer(o, o.channels, floorBytes);
  try {
    const mem0 = await ask(server.child, 'mem');
    const sampleEvery = Math.max(1, Math.floor(n / SAMPLED));
    const addresses = n > 20_000 ? Math.ceil(n / 20_000) : 1;
    const channels = symbolsFor(o.channels).map((sym) => `book.sim.${sym}`);
    const cfg: ClientCfg = { url: server.url, n, depth: o.depth, channels, batch: o.batch, sampleEvery, addresses };
    const client = spawnRole('ws-clients', ['--cfg', JSON.stringify(cfg)], o.pin ? 1 : undefined);
    try {
      const conn = await waitFor(client, (m) => m.type === 'connected', 180_000, `${n} clients connected`);
      const mem1 = await ask(server.child, 'mem');
      await ask(server.child, 'run');
      await new Promise((r) => setTimeout(r, 2000)); // warm-up
      const s0 = await ask(server.child, 'record');
      client.send({ cmd: 'start' });
      await new Promise((r) => setTimeout(r, o.duration * 1000));
      const resP = waitFor(client, (m) => m.type === 'result', 60_000, 'client result');
      client.send({ cmd: 'stop' });
      const res = await resP;
      const s1 = await ask(server.child, 'stop');
      const st0 = s0.stats as Counters;
      const st1 = s1.stats as Counters;
      const windowS = (res.windowUs as number) / 1e6;
      const serverWindowS = ((s1.atUs as number) - (s0.atUs as number)) / 1e6;
      const ticks = new Map(s1.ticks as [number, number][]);
      const samples = res.samples as number[];
      const lat: number[] = [];
      let unmatched = 0;
      for (let i = 0; i < samples.length; i += 2) {
        const ts = samples[i] as number;
        const at = ticks.get(ts) ?? ticks.get(ts - 1);
        if (at === undefined) unmatched++;
        else lat.push(((samples[i + 1] as number) - at) / 1000);
      }
      lat.sort((a, b) => a - b);
      const tickCount = s1.tickCount as number;
      return {
        name: `${floorBytes === undefined ? 'ws' : 'floor'}-${n}`,
        clients: n,
        connected: conn.ready as number,
        channelsPerClient: o.channels,
        batch: o.batch,
        deliveredPerSec: Math.round((res.delivered as number) / windowS),
        framesReceivedPerSec: Math.round((res.frames as number) / windowS),
        serverMessagesPerSec: Math.round((st1.messagesSent - st0.messagesSent) / serverWindowS),
        serverFramesPerSec: Math.round((st1.framesSent - st0.framesSent) / serverWindowS),
        mbPerSec: (res.bytes as number) / windowS / 1e6,
        p50Ms: pct(lat, 0.5),
        p99Ms: pct(lat, 0.99),
        p999Ms: pct(lat, 0.999),
        maxMs: lat.length > 0 ? (lat[lat.length - 1] as number) : Number.NaN,
        latencySamples: lat.length,
        unmatchedSamples: unmatched,
        sampledClients: Math.ceil(n / sampleEvery),
        seqGaps: res.gaps as number,
        malformedFrames: res.malformed as number,
        scanChecks: res.scanChecks as number,
        scanMismatches: res.scanMismatches as number,
        conflations: st1.conflations - st0.conflations,
        resyncSnapshots: res.sampleSnapshots as number,
        slowDisconnects: st1.slowDisconnects - st0.slowDisconnects,
        memPerClientKiB: ((mem1.rss as number) - (mem0.rss as number)) / n / 1024,
        heapPerClientKiB: ((mem1.heapUsed as number) - (mem0.heapUsed as number)) / n / 1024,
        serverBusyPct: ((s1.tickBusyUs as number) / 1e6 / serverWindowS) * 100,
        serverCpuPct: ((s1.cpuUs as number) / 1e6 / serverWindowS) * 100,
        serverLoopDelayP99Ms: s1.eldP99Ms as number,
        serverLoopDelayMaxMs: s1.eldMaxMs as number,
        clientCpuPct: res.cpuPct as number,
        serverCpuUsPerFrame: (s1.cpuUs as number) / Math.max(1, st1.framesSent - st0.framesSent),
        clientCpuUsPerFrame:
          (((res.cpuPct as number) / 100) * (res.windowUs as number)) / Math.max(1, res.frames as number),
        meanTickMs: tickCount > 0 ? (s1.tickBusyUs as number) / tickCount / 1000 : Number.NaN,
        maxTickMs: (s1.maxTickUs as number) / 1000,
        publishesPerSec: tickCount / serverWindowS,
        connectMs: conn.connectMs as number,
      };
    } finally {
      await stop(client);
    }
  } finally {
    await stop(server.child);
  }
}

async function runRest(o: Opts): Promise<Msg> {
  const server = await startServer(o, 2);
  try {
    await ask(server.child, 'run');
    const client = spawnRole(
      'rest',
      ['--url', server.url, '--seconds', String(o.restSeconds), '--connections', String(o.restConnections)],
      o.pin ? 1 : undefined,
    );
    const s0 = await ask(server.child, 'record');
    const r = await waitFor(client, (m) => m.type === 'result', (o.restSeconds + 60) * 1000, 'autocannon');
    const s1 = await ask(server.child, 'stop');
    const windowS = ((s1.atUs as number) - (s0.atUs as number)) / 1e6;
    return {
      name: 'rest-book',
      ...r,
      type: undefined,
      connections: o.restConnections,
      seconds: o.restSeconds,
      // CPU the server spent per request (sim steps included): comparable across runs on shared cores.
      serverCpuPct: ((s1.cpuUs as number) / 1e6 / windowS) * 100,
      serverCpuUsPerRequest: (s1.cpuUs as number) / (r.total as number),
    };
  } finally {
    await stop(server.child);
  }
}

interface Opts {
  json: boolean;
  clients: number[];
  duration: number;
  tickMs: number;
  depth: number;
  restSeconds: number;
  restConnections: number;
  only: string | undefined;
  profile: boolean;
  /** After each ws-N run, the same load against the floor server. */
  floor: boolean;
  channels: number;
  batch: boolean;
  pin: boolean;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const k = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);

async function main(): Promise<void> {
  const o: Opts = {
    json: args.includes('--json'),
    clients: (flag('--clients') ?? '1000,10000').split(',').map(Number),
    duration: num('--duration', 10),
    tickMs: num('--tick-ms', 20),
    depth: num('--depth', 20),
    restSeconds: num('--rest-duration', 10),
    restConnections: num('--rest-connections', 64),
    only: flag('--only'),
    profile: args.includes('--profile'),
    floor: args.includes('--floor'),
    channels: num('--channels', DEFAULT_CHANNELS),
    batch: !args.includes('--no-batch'),
    pin: !args.includes('--no-pin'),
  };
  const log = (s: string) => {
    if (!o.json) process.stdout.write(`${s}\n`);
  };
  let limit = '?';
  try {
    limit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {}
  const need = Math.max(...o.clients) + 1000;
  if (Number(limit) < need) {
    throw new Error(`open-file limit ${limit} < ${need}: run \`ulimit -n ${need}\` (hard limit permitting) first`);
  }
  log(
    `gateway bench: server and load generator in separate processes${o.pin ? ' pinned to core 0 and core 1 (taskset)' : ''}; ` +
      `publish every ${o.tickMs} ms (one sim step, then the gateway's tick()), depth ${o.depth}, ` +
      `each client subscribed to ${o.channels} book channels (book.sim.*)${o.batch ? ', batched frames (?batch=1)' : ''}; ` +
      `${o.duration} s windows; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const results: Record<string, unknown>[] = [];
  if (o.only !== 'rest') {
    for (const n of o.clients) {
      log(`  ws-${n} ...`);
      const r = await runWs(n, o);
      results.push({ ...r });
      if (o.floor) {
        const frameBytes = Math.round(r.framesReceivedPerSec > 0 ? (r.mbPerSec * 1e6) / r.framesReceivedPerSec : 4200);
        log(`  floor-${n} (bare node:net server, ${frameBytes}-byte frames) ...`);
        results.push({ ...(await runWs(n, o, frameBytes)) });
      }
    }
  }
  if (o.only !== 'ws') {
    log(`  rest-book (autocannon, ${o.restConnections} connections, ${o.restSeconds} s) ...`);
    results.push(await runRest(o));
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`);
    return;
  }
  const rows = results.filter((r) => /^(ws|floor)-/.test(String(r.name))) as unknown as WsResult[];
  log('');
  log(
    '| run | clients | delivered msgs/s | frames recv/s | server frames/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | seq gaps | conflations | mem/client (RSS, heap) | server tick busy | mean/max tick |',
  );
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    log(
      `| ${r.name} | ${r.connected}/${r.clients} | ${k(r.deliveredPerSec)} | ${k(r.framesReceivedPerSec)} | ${k(r.serverFramesPerSec)} | ${r.mbPerSec.toFixed(1)} | ` +
        `${f2(r.p50Ms)} | ${f2(r.p99Ms)} | ${f2(r.p999Ms)} | ${f2(r.maxMs)} | ${r.seqGaps} | ${r.conflations} | ` +
        `${r.memPerClientKiB.toFixed(1)} KiB, ${r.heapPerClientKiB.toFixed(1)} KiB | ${r.serverBusyPct.toFixed(0)}% | ` +
        `${f2(r.meanTickMs)} / ${f2(r.maxTickMs)} ms |`,
    );
  }
  for (const r of rows) {
    log(
      `  ${r.name}: ${r.publishesPerSec.toFixed(1)} publishes/s, connect ${r.connectMs} ms, latency from ` +
        `${r.latencySamples} frames of ${r.sampledClients} sampled clients (${r.unmatchedSamples} unmatched), ` +
        `${r.resyncSnapshots} resync snapshots on sampled clients, ${r.malformedFrames} malformed frames, ` +
        `${r.scanMismatches} of ${r.scanChecks} scans checked against JSON.parse disagreed, ` +
        `${r.slowDisconnects} slow disconnects; CPU server ` +
        `${r.serverCpuPct.toFixed(0)}% (${r.serverCpuUsPerFrame.toFixed(1)} µs/frame), clients ` +
        `${r.clientCpuPct.toFixed(0)}% (${r.clientCpuUsPerFrame.toFixed(1)} µs/frame); server event-loop delay p99 ` +
        `${f2(r.serverLoopDelayP99Ms)} ms, max ${f2(r.serverLoopDelayMaxMs)} ms`,
    );
  }
  const rest = results.find((r) => r.name === 'rest-book');
  if (rest !== undefined) {
    log(
      `| rest-book | ${(rest.requestsPerSec as number).toFixed(0)} req/s | p50 ${rest.p50Ms} ms | p99 ${rest.p99Ms} ms | ` +
        `non-2xx ${rest.non2xx} | errors ${rest.errors} | ${rest.connections} connections | server CPU ` +
        `${(rest.serverCpuPct as number).toFixed(0)}%, ${(rest.serverCpuUsPerRequest as number).toFixed(1)} µs/request |`,
    );
  }
}

const role = flag('--role');
if (role === 'server' || role === 'floor') await serverRole(role === 'floor');
else if (role === 'ws-clients') await wsClientRole(JSON.parse(flag('--cfg') ?? '{}') as ClientCfg);
else if (role === 'rest') await restClientRole(flag('--url') ?? '', num('--seconds', 10), num('--connections', 64));
else {
  try {
    await main();
  } catch (e) {
    process.stderr.write(`bench:gateway failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
