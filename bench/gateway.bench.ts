/**
 * Gateway benchmark: many WebSocket clients on loopback subscribed to sim book channels, and REST requests
 * per second for a top-20 book.
 *
 * Three processes: this one orchestrates (mostly idle); a SERVER child runs the real platform + gateway
 * (`buildPlatform` -> `createSimVenue` -> `startApi`, i.e. `buildGateway` + `listenGateway` on 127.0.0.1:0),
 * pinned to core 0; a CLIENT child runs the load (raw `ws` sockets, or autocannon for REST), pinned to
 * core 1 (`taskset -a -p`). The server steps the sim once per publish period and then calls the gateway's
 * own `tick()` (the publish the gateway's timer does every 50 ms), so every period publishes one delta per
 * channel; the built-in 50 ms timer still runs but finds nothing new to publish.
 *
 * Latency: publish time -> client receipt. The server records CLOCK_MONOTONIC (`process.hrtime`, one clock
 * for every process on the machine) right before each `tick()` together with `Date.now()`; the `tsMs` the
 * gateway writes into each delta is that tick's `Date.now()`, so it names the tick. Sampled clients record
 * CLOCK_MONOTONIC at receipt with the frame's `tsMs`; the two are joined afterwards. So the latency covers
 * reading the book, diffing, serializing, the fan-out to every subscriber before this one, the kernel and
 * the client's own event loop.
 *
 * `--json` prints {"results":[{"name":"ws-1000"|"ws-10000","clients","deliveredPerSec","p99Ms",...},
 * {"name":"rest-book","requestsPerSec",...}]}. Options: --clients 1000,10000 --duration S (10) --tick-ms
 * (20) --depth (20) --rest-duration S (10) --rest-connections (64) --only ws|rest --profile (server
 * --cpu-prof into .bench-prof/).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

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
const SYMBOLS = ['BTC-USDT', 'ETH-USDT'];
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

type Msg = Record<string, unknown> & { cmd?: string; type?: string };

// ---------------------------------------------------------------------------------------------- server
async function serverRole(): Promise<void> {
  const { loadConfig } = await import('../src/config/config.ts');
  const { systemClock, systemRandom } = await import('../src/ingest/clock.ts');
  const { silentLogger } = await import('../src/observability/logger.ts');
  const { buildPlatform } = await import('../src/platform.ts');
  const tickMs = num('--tick-ms', 20);
  const config = loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'qob-gw-bench-')), env: {}, flags: {} });
  const platform = buildPlatform(config, { logger: silentLogger(), clock: systemClock, random: systemRandom });
  const sim = platform.createSimVenue({ symbols: SYMBOLS, seed: 1 });
  sim.step(40);
  const api = await platform.startApi({ sim, host: '127.0.0.1', port: 0 });
  const ws = api.app.qobWs;
  if (ws === undefined) throw new Error('the gateway has no /ws API');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  // --cork (experiment, not the gateway's behaviour): cork each connection's TCP socket on its first send of
  // a tick and uncork after the tick, so a client's frames of one tick leave in one writev.
  const corked = new Set<{ uncork(): void }>();
  if (args.includes('--cork')) {
    const proto = WebSocket.prototype as unknown as { send: (...a: unknown[]) => void };
    const send = proto.send;
    proto.send = function (this: { _socket?: { cork(): void; uncork(): void } }, ...a: unknown[]) {
      const sock = this._socket;
      if (inTick && sock !== undefined && !corked.has(sock)) {
        sock.cork();
        corked.add(sock);
      }
      send.apply(this, a);
    };
  }
  let inTick = false;

  let recording = false;
  let running = false; // the market starts once every client is connected
  const ticks = new Map<number, number>(); // tsMs -> monotonic µs at tick start
  let tickCount = 0;
  let tickBusyUs = 0;
  let maxTickUs = 0;
  const timer = setInterval(() => {
    if (!running) return;
    sim.step(1);
    const tsMs = Date.now();
    const t0 = monoUs();
    inTick = true;
    ws.tick();
    inTick = false;
    for (const c of corked) c.uncork();
    corked.clear();
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
        ticks.clear();
        tickCount = 0;
        tickBusyUs = 0;
        maxTickUs = 0;
        reply({ stats: ws.stats(), atUs: monoUs() });
        break;
      case 'stop': {
        recording = false;
        const u = process.memoryUsage();
        reply({
          stats: ws.stats(),
          atUs: monoUs(),
          ticks: [...ticks.entries()],
          tickCount,
          tickBusyUs,
          maxTickUs,
          rss: u.rss,
        });
        break;
      }
      case 'exit':
        clearInterval(timer);
        void api.close().then(() => {
          platform.close();
          process.exit(0);
        });
        break;
    }
  });
  process.send?.({ type: 'ready', url: api.url });
}

// ---------------------------------------------------------------------------------------------- ws load
interface ClientCfg {
  url: string;
  n: number;
  depth: number;
  sampleEvery: number;
  addresses: number;
}

async function wsClientRole(cfg: ClientCfg): Promise<void> {
  const wsUrl = `${cfg.url.replace(/^http/, 'ws')}/ws`;
  let measuring = false;
  let delivered = 0;
  let bytes = 0;
  let ready = 0;
  let failed = 0;
  let closedEarly = 0;
  // Sampled clients: full parse, per-channel sequence check, latency samples.
  let gaps = 0;
  let sampleFrames = 0;
  let sampleSnapshots = 0;
  const samples: number[] = []; // flat pairs: tsMs, receipt monotonic µs
  const sockets: WebSocket[] = [];

  const open = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const sampled = i % cfg.sampleEvery === 0;
      const localAddress = cfg.addresses > 1 ? `127.0.0.${1 + (i % cfg.addresses)}` : undefined;
      const ws = new WebSocket(wsUrl, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        ...(localAddress === undefined ? {} : { localAddress }),
      });
      sockets.push(ws);
      const lastSeq = new Map<string, number>();
      let snapshots = 0;
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        if (!ok) failed++;
        resolve();
      };
      ws.on('open', () => {
        for (const s of SYMBOLS)
          ws.send(JSON.stringify({ op: 'subscribe', channel: `book.sim.${s}`, depth: cfg.depth }));
      });
      ws.on('message', (data: Buffer) => {
        // `{"type":"` is 9 bytes: byte 9 is d(elta), s(napshot|ubscribed), p(ing|ong), c(losing), e(rror).
        const k = data[9];
        if (k === 0x70 /* p */ && data[10] === 0x69 /* i */) {
          const f = JSON.parse(data.toString()) as { id: number };
          ws.send(JSON.stringify({ op: 'pong', id: f.id }));
          return;
        }
        const isSnapshot = k === 0x73 && data[10] === 0x6e; /* sn */
        const isDelta = k === 0x64;
        if (!isSnapshot && !isDelta) return;
        if (measuring) {
          delivered++;
          bytes += data.length;
        }
        if (isSnapshot && !done && ++snapshots === SYMBOLS.length) {
          ready++;
          finish(true);
        }
        if (!sampled) return;
        const recvUs = monoUs();
        const f = JSON.parse(data.toString()) as { channel: string; seq: number; data: { tsMs: number } };
        if (isSnapshot) {
          lastSeq.set(f.channel, f.seq);
          if (measuring) sampleSnapshots++;
        } else {
          const prev = lastSeq.get(f.channel);
          if (prev === undefined || f.seq !== prev + 1) gaps++;
          lastSeq.set(f.channel, f.seq);
        }
        if (measuring) {
          sampleFrames++;
          samples.push(f.data.tsMs, recvUs);
        }
      });
      ws.on('error', () => finish(false));
      ws.on('close', () => {
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
  process.on('message', (m: Msg) => {
    if (m.cmd === 'start') {
      measuring = true;
      delivered = 0;
      bytes = 0;
      startUs = monoUs();
    } else if (m.cmd === 'stop') {
      measuring = false;
      const windowUs = monoUs() - startUs;
      process.send?.({
        type: 'result',
        delivered,
        bytes,
        windowUs,
        gaps,
        sampleFrames,
        sampleSnapshots,
        samples,
        closedEarly,
        open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
      });
    } else if (m.cmd === 'exit') {
      for (const s of sockets) s.terminate();
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

function spawnRole(role: string, extra: string[], core: number, execArgv: string[] = []): ChildProcess {
  const child = fork(SELF, ['--role', role, ...extra], {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  pin(child, core);
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

async function startServer(
  profile: boolean,
  tickMs: number,
  cork = args.includes('--cork'),
): Promise<{ child: ChildProcess; url: string }> {
  const execArgv = profile ? ['--cpu-prof', '--cpu-prof-dir=.bench-prof'] : [];
  const child = spawnRole('server', ['--tick-ms', String(tickMs), ...(cork ? ['--cork'] : [])], 0, execArgv);
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
  conflations: number;
  slowDisconnects: number;
}

interface WsResult {
  name: string;
  clients: number;
  connected: number;
  deliveredPerSec: number;
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
  conflations: number;
  resyncSnapshots: number;
  slowDisconnects: number;
  memPerClientKiB: number;
  heapPerClientKiB: number;
  serverBusyPct: number;
  meanTickMs: number;
  maxTickMs: number;
  publishesPerSec: number;
  connectMs: number;
}

async function runWs(n: number, o: Opts): Promise<WsResult> {
  const server = await startServer(o.profile, o.tickMs);
  try {
    const mem0 = await ask(server.child, 'mem');
    const sampleEvery = Math.max(1, Math.floor(n / 200));
    const addresses = n > 20_000 ? Math.ceil(n / 20_000) : 1;
    const cfg: ClientCfg = { url: server.url, n, depth: o.depth, sampleEvery, addresses };
    const client = spawnRole('ws-clients', ['--cfg', JSON.stringify(cfg)], 1);
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
        name: `ws-${n}`,
        clients: n,
        connected: conn.ready as number,
        deliveredPerSec: Math.round((res.delivered as number) / windowS),
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
        conflations: st1.conflations - st0.conflations,
        resyncSnapshots: res.sampleSnapshots as number,
        slowDisconnects: st1.slowDisconnects - st0.slowDisconnects,
        memPerClientKiB: ((mem1.rss as number) - (mem0.rss as number)) / n / 1024,
        heapPerClientKiB: ((mem1.heapUsed as number) - (mem0.heapUsed as number)) / n / 1024,
        serverBusyPct: ((s1.tickBusyUs as number) / 1e6 / serverWindowS) * 100,
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
  const server = await startServer(o.profile, o.tickMs);
  try {
    await ask(server.child, 'run');
    const client = spawnRole(
      'rest',
      ['--url', server.url, '--seconds', String(o.restSeconds), '--connections', String(o.restConnections)],
      1,
    );
    const r = await waitFor(client, (m) => m.type === 'result', (o.restSeconds + 60) * 1000, 'autocannon');
    return { name: 'rest-book', ...r, type: undefined, connections: o.restConnections, seconds: o.restSeconds };
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
    `gateway bench: server and load generator in separate processes pinned to core 0 and core 1 (taskset); ` +
      `publish every ${o.tickMs} ms (one sim step, then the gateway's tick()), depth ${o.depth}, ` +
      `each client subscribed to ${SYMBOLS.map((s) => `book.sim.${s}`).join(' + ')}; ${o.duration} s windows`,
  );
  const results: Record<string, unknown>[] = [];
  if (o.only !== 'rest') {
    for (const n of o.clients) {
      log(`  ws-${n} ...`);
      results.push({ ...(await runWs(n, o)) });
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
  const rows = results.filter((r) => String(r.name).startsWith('ws-')) as unknown as WsResult[];
  log('');
  log(
    '| run | clients | delivered/s | server frames/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | seq gaps | conflations | mem/client (RSS, heap) | server tick busy | mean/max tick |',
  );
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    log(
      `| ${r.name} | ${r.connected}/${r.clients} | ${k(r.deliveredPerSec)} | ${k(r.serverFramesPerSec)} | ${r.mbPerSec.toFixed(1)} | ` +
        `${f2(r.p50Ms)} | ${f2(r.p99Ms)} | ${f2(r.p999Ms)} | ${f2(r.maxMs)} | ${r.seqGaps} | ${r.conflations} | ` +
        `${r.memPerClientKiB.toFixed(1)} KiB, ${r.heapPerClientKiB.toFixed(1)} KiB | ${r.serverBusyPct.toFixed(0)}% | ` +
        `${f2(r.meanTickMs)} / ${f2(r.maxTickMs)} ms |`,
    );
  }
  for (const r of rows) {
    log(
      `  ${r.name}: ${r.publishesPerSec.toFixed(1)} publishes/s, connect ${r.connectMs} ms, latency from ` +
        `${r.latencySamples} frames of ${r.sampledClients} sampled clients (${r.unmatchedSamples} unmatched), ` +
        `${r.resyncSnapshots} resync snapshots on sampled clients, ${r.slowDisconnects} slow disconnects`,
    );
  }
  const rest = results.find((r) => r.name === 'rest-book');
  if (rest !== undefined) {
    log(
      `| rest-book | ${(rest.requestsPerSec as number).toFixed(0)} req/s | p50 ${rest.p50Ms} ms | p99 ${rest.p99Ms} ms | ` +
        `non-2xx ${rest.non2xx} | errors ${rest.errors} | ${rest.connections} connections |`,
    );
  }
}

const role = flag('--role');
if (role === 'server') await serverRole();
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
