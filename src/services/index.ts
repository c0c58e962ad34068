/**
 * The service split (docs/SERVICES.md): the same components as `qob start`, wired over Kafka and Redis
 * instead of in one process. `startService(name, options)` builds one service with its probes; the CLI
 * (`qob service NAME`) only reads options and waits for a signal.
 */
import { KafkaBus } from '../bus/kafka.ts';
import { RedisCache } from '../bus/redis-cache.ts';
import { type QobError, qobError } from '../core/errors.ts';
import { buildGateway, listenGateway, type RunningGateway } from '../gateway/index.ts';
import { openStore, type SqlStore } from '../store/index.ts';
import { venueById } from '../venues/index.ts';
import { Ingestion, SimIngestion } from './ingestion.ts';
import { OrderbookService } from './orderbook.ts';
import { RedisMarketData } from './redis-source.ts';
import {
  createServiceMetrics,
  DEFAULT_PROBE_PORTS,
  type ProbeServer,
  type Readiness,
  type ServiceName,
  startProbes,
} from './runtime.ts';
import { StorageService } from './storage.ts';

export { BookEventTap, guessSymbol } from './book-events.ts';
export { Ingestion, SimIngestion } from './ingestion.ts';
export { OrderbookService, statusVersion } from './orderbook.ts';
export { RedisMarketData } from './redis-source.ts';
export { createServiceMetrics, DEFAULT_PROBE_PORTS, SERVICE_NAMES, type ServiceName, startProbes } from './runtime.ts';
export { ServedBook } from './served-book.ts';
export { StorageService } from './storage.ts';
export { venueSymbolMapper } from './symbols.ts';

export interface ServiceOptions {
  /** Instance number (`--id N`): probe port offset and client id. */
  readonly id?: number;
  readonly brokers: readonly string[];
  readonly topicPrefix?: string;
  readonly partitions?: number;
  readonly redisUrl?: string;
  readonly keyPrefix?: string;
  readonly probeHost?: string;
  /** Probe port (default `DEFAULT_PROBE_PORTS[name] + id`; 0: any). */
  readonly probePort?: number;
  /** ingestion: what to ingest. */
  readonly source?:
    | { readonly kind: 'replay'; readonly path: string; readonly format: 'cryptofeed' | 'qob'; readonly venue?: string }
    | {
        readonly kind: 'live';
        /** Venue ids (`binance`, `okx`, ...); each runs its live connector over the symbols it can spell. */
        readonly venues: readonly string[];
        /** Normalized symbols (`BTC-USDT`, `BTC-USDT-PERP`). */
        readonly symbols: readonly string[];
      }
    | {
        readonly kind: 'sim';
        readonly symbols: readonly string[];
        readonly seed?: number;
        readonly stepsPerSec?: number;
      };
  readonly seqBase?: number;
  /** ingestion: period of the fresh snapshot of every book, ms (default 30,000; see `Ingestion.resnapshot`). */
  readonly resnapshotEveryMs?: number;
  /** orderbook: levels per side served (default 50). */
  readonly depth?: number;
  readonly group?: string;
  /** storage. */
  readonly store?:
    | { readonly engine: 'embedded'; readonly dataDir: string | undefined }
    | { readonly engine: 'postgres'; readonly url: string; readonly schema?: string };
  /** gateway. */
  readonly apiHost?: string;
  readonly apiPort?: number;
  readonly onError?: (err: QobError) => void;
}

export interface RunningService {
  readonly name: ServiceName;
  readonly probes: ProbeServer;
  /** The gateway's API (gateway only). */
  readonly api?: RunningGateway;
  /** Resolves when a replay source has been fully published (ingestion with --replay). */
  readonly done?: Promise<void>;
  /** Idempotent graceful stop. */
  close(): Promise<void>;
}

export async function startService(name: ServiceName, o: ServiceOptions): Promise<RunningService> {
  const id = o.id ?? 0;
  const metrics = createServiceMetrics();
  const closers: (() => Promise<void> | void)[] = [];
  let ready: () => Readiness = () => ({ ready: false, reason: 'starting' });
  let api: RunningGateway | undefined;
  let done: Promise<void> | undefined;
  const stop = new AbortController();
  const kafka = () =>
    KafkaBus.connect({
      brokers: o.brokers,
      clientId: `qob-${name}-${id}`,
      ...(o.topicPrefix === undefined ? {} : { topicPrefix: o.topicPrefix }),
      ...(o.partitions === undefined ? {} : { partitions: o.partitions }),
      maxWaitTimeMs: 10,
    });
  const redis = () => {
    if (o.redisUrl === undefined) throw qobError('QOB_ERR_CONFIG_INVALID', `${name} needs a Redis URL`, {});
    return RedisCache.connect({ url: o.redisUrl, ...(o.keyPrefix === undefined ? {} : { keyPrefix: o.keyPrefix }) });
  };
  const closeAll = async () => {
    stop.abort();
    for (const c of closers.reverse()) await c();
  };
  try {
    if (name === 'ingestion') {
      const bus = await kafka();
      closers.push(() => bus.close());
      const ing = new Ingestion({
        bus,
        metrics,
        ...(o.seqBase === undefined ? {} : { seqBase: o.seqBase }),
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      });
      closers.push(() => ing.close());
      const resnapshot = setInterval(() => ing.resnapshot(Date.now()), o.resnapshotEveryMs ?? 30_000);
      resnapshot.unref();
      closers.push(() => clearInterval(resnapshot));
      const src = o.source;
      if (src === undefined) throw qobError('QOB_ERR_INVALID_ARGUMENT', 'ingestion needs --replay FILE or --sim', {});
      if (src.kind === 'replay') {
        let finished = false;
        done = ing
          .replay(src.path, src.format, {
            signal: stop.signal,
            ...(src.venue === undefined ? {} : { venue: src.venue }),
          })
          .then(() => {
            finished = true;
          });
        ready = () => ({ ready: true, reason: finished ? 'replay published' : 'replaying' });
      } else if (src.kind === 'live') {
        const running: { venue: string; connector: ReturnType<Ingestion['live']> }[] = [];
        for (const venue of src.venues) {
          const toVenue = venueById(venue)?.connector?.toVenueSymbol;
          // Each venue takes the symbols it lists this way (a perpetual is not a spot pair).
          const symbols = src.symbols.filter((s) => {
            try {
              toVenue?.(s);
              return toVenue !== undefined;
            } catch {
              return false;
            }
          });
          if (symbols.length === 0) {
            throw qobError('QOB_ERR_INVALID_ARGUMENT', `${venue}: none of the symbols is listed by its connector`, {
              venue,
              symbols: src.symbols.join(','),
            });
          }
          running.push({ venue, connector: ing.live({ venue, symbols, signal: stop.signal }) });
        }
        closers.push(() => {
          for (const r of running) r.connector.close();
        });
        ready = () => {
          const books = running.flatMap((r) => [...r.connector.books()]);
          const inSync = books.filter((b) => b.inSync).length;
          return { ready: inSync > 0, reason: `live: ${inSync} of ${books.length} books in sync` };
        };
      } else {
        const sim = new SimIngestion(ing, {
          symbols: src.symbols,
          ...(src.seed === undefined ? {} : { seed: src.seed }),
        });
        const rate = src.stepsPerSec ?? 20;
        const timer = setInterval(() => sim.step(1), 1000 / rate);
        closers.push(() => {
          clearInterval(timer);
          sim.close();
        });
        ready = () => ({ ready: true, reason: `sim: ${sim.exchange.symbols.join(', ')}` });
      }
    } else if (name === 'orderbook') {
      const bus = await kafka();
      closers.push(() => bus.close());
      const cache = await redis();
      closers.push(() => cache.close());
      const svc = await OrderbookService.start({
        bus,
        cache,
        metrics,
        ...(o.group === undefined ? {} : { group: o.group }),
        ...(o.depth === undefined ? {} : { depth: o.depth }),
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      });
      closers.push(() => svc.close());
      ready = () => ({ ready: true, reason: `member of the group; ${svc.books().length} books owned` });
    } else if (name === 'storage') {
      const bus = await kafka();
      closers.push(() => bus.close());
      const sc = o.store ?? { engine: 'embedded' as const, dataDir: undefined };
      const store: SqlStore = await openStore(sc);
      closers.push(() => store.close());
      const svc = await StorageService.start({
        bus,
        store,
        metrics,
        ...(o.group === undefined ? {} : { group: o.group }),
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      });
      closers.push(() => svc.close());
      ready = () => ({ ready: true, reason: `storing into ${sc.engine}` });
    } else {
      const cache = await redis();
      closers.push(() => cache.close());
      const source = await RedisMarketData.start({
        cache,
        metrics,
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      });
      closers.push(() => source.close());
      const app = await buildGateway({ source, metrics: metrics.registry });
      api = await listenGateway(app, { host: o.apiHost ?? '127.0.0.1', port: o.apiPort ?? 8080 + id });
      const running = api;
      closers.push(() => running.close());
      ready = () => source.readiness();
    }
    const probes = await startProbes({
      host: o.probeHost ?? '127.0.0.1',
      port: o.probePort ?? DEFAULT_PROBE_PORTS[name] + id,
      registry: metrics.registry,
      readiness: () => ready(),
      name: `${name}-${id}`,
    });
    closers.unshift(() => probes.close());
    let closing: Promise<void> | undefined;
    return {
      name,
      probes,
      ...(api === undefined ? {} : { api }),
      ...(done === undefined ? {} : { done }),
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
}
