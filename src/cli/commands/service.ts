/**
 * `qob service ingestion|orderbook|storage|gateway [--id N]`: runs one service of the split
 * (docs/SERVICES.md) until SIGTERM or SIGINT, then stops it gracefully. Wiring only: the services are built
 * by src/services/ `startService`.
 */
import { resolve } from 'node:path';
import { qobError } from '../../core/errors.ts';
import { SERVICE_NAMES, type ServiceName, type ServiceOptions, startService } from '../../services/index.ts';
import { type Command, EXIT_OK, parseCommandArgs } from '../command.ts';

const HELP = `Usage: qob service ingestion|orderbook|storage|gateway [--id N] [options]

Runs one service of the split deployment (docs/SERVICES.md) until SIGTERM or SIGINT. Every service serves
/healthz, /readyz and /metrics on its probe port.

Options:
  --id N                instance number (default 0): added to the default ports, names the Kafka client
  --brokers LIST        Kafka brokers host:port,... (env QOB_KAFKA_BROKERS; default 127.0.0.1:59092)
  --redis URL           Redis URL (env QOB_REDIS_URL; default redis://127.0.0.1:56379)
  --topic-prefix P      prefix of every Kafka topic (env QOB_TOPIC_PREFIX)
  --key-prefix P        prefix of every Redis key and channel (env QOB_KEY_PREFIX; default qob:)
  --probe-port N        port of /healthz /readyz /metrics (default 9101 ingestion, 9111 orderbook,
                        9121 storage, 9131 gateway, plus --id; 0: any free port)
  ingestion:
  --replay FILE         publish a capture (--format cryptofeed) or a recording (--format qob), then idle
  --format F            cryptofeed (default) or qob
  --venue ID            the capture's venue when its header names none
  --sim SYMBOLS         run the built-in simulated exchange over these symbols (comma-separated)
  --rate N              sim steps per second (default 20)
  --live VENUES         run these venues' live connectors (the ones qob start uses; comma-separated ids)
  --symbols SYMBOLS     normalized symbols for --live (BTC-USDT,BTC-USDT-PERP); each venue takes those it lists
  orderbook:
  --depth N             levels per side written to Redis (default 50)
  storage:
  --pg URL              store into PostgreSQL at URL (env QOB_PG_URL); default: the embedded store
  --schema S            PostgreSQL schema (default public)
  --data-dir DIR        embedded store directory (default .data/pglite-storage-ID)
  gateway:
  --api-port N          the REST + WebSocket API port (default 8080 plus --id)
  -h, --help            this help`;

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(text)) {
    throw qobError(
      'QOB_ERR_INVALID_ARGUMENT',
      `--${name} expects a non-negative integer, got ${JSON.stringify(text)}`,
      {
        option: name,
      },
    );
  }
  return Number(text);
}

export const serviceCommand: Command = {
  name: 'service',
  summary: 'run one service of the split deployment (ingestion, orderbook, storage, gateway)',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('service', args, {
      help: { type: 'boolean', short: 'h', default: false },
      id: { type: 'string' },
      brokers: { type: 'string' },
      redis: { type: 'string' },
      'topic-prefix': { type: 'string' },
      'key-prefix': { type: 'string' },
      'probe-port': { type: 'string' },
      replay: { type: 'string' },
      format: { type: 'string' },
      venue: { type: 'string' },
      sim: { type: 'string' },
      live: { type: 'string' },
      symbols: { type: 'string' },
      rate: { type: 'string' },
      depth: { type: 'string' },
      pg: { type: 'string' },
      schema: { type: 'string' },
      'data-dir': { type: 'string' },
      'api-port': { type: 'string' },
    });
    if (values.help === true) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_OK;
    }
    const name = positionals[0];
    if (positionals.length !== 1 || !(SERVICE_NAMES as readonly string[]).includes(name ?? '')) {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', `qob service expects one of ${SERVICE_NAMES.join(', ')}`, {
        positionals: positionals.length,
        allowed: SERVICE_NAMES,
      });
    }
    const service = name as ServiceName;
    const env = io.env;
    const id = int('id', values.id) ?? 0;
    const format = values.format ?? 'cryptofeed';
    if (format !== 'cryptofeed' && format !== 'qob') {
      throw qobError('QOB_ERR_INVALID_ARGUMENT', '--format expects cryptofeed or qob', { option: 'format' });
    }
    const pg = values.pg ?? env.QOB_PG_URL;
    const rate = int('rate', values.rate);
    const depth = int('depth', values.depth);
    const probePort = int('probe-port', values['probe-port']);
    const apiPort = int('api-port', values['api-port']);
    const topicPrefix = values['topic-prefix'] ?? env.QOB_TOPIC_PREFIX;
    const keyPrefix = values['key-prefix'] ?? env.QOB_KEY_PREFIX;
    const options: ServiceOptions = {
      id,
      brokers: (values.brokers ?? env.QOB_KAFKA_BROKERS ?? '127.0.0.1:59092').split(',').filter((b) => b !== ''),
      redisUrl: values.redis ?? env.QOB_REDIS_URL ?? 'redis://127.0.0.1:56379',
      ...(topicPrefix === undefined ? {} : { topicPrefix }),
      ...(keyPrefix === undefined ? {} : { keyPrefix }),
      ...(probePort === undefined ? {} : { probePort }),
      ...(depth === undefined ? {} : { depth }),
      ...(apiPort === undefined ? {} : { apiPort }),
      ...(values.replay !== undefined
        ? {
            source: {
              kind: 'replay' as const,
              path: resolve(io.cwd, values.replay),
              format,
              ...(values.venue === undefined ? {} : { venue: values.venue }),
            },
          }
        : values.live !== undefined
          ? {
              source: {
                kind: 'live' as const,
                venues: values.live.split(',').filter((s) => s !== ''),
                symbols: (values.symbols ?? '').split(',').filter((s) => s !== ''),
              },
            }
          : values.sim !== undefined
            ? {
                source: {
                  kind: 'sim' as const,
                  symbols: values.sim.split(',').filter((s) => s !== ''),
                  ...(rate === undefined ? {} : { stepsPerSec: rate }),
                },
              }
            : {}),
      store:
        pg === undefined
          ? { engine: 'embedded', dataDir: resolve(io.cwd, values['data-dir'] ?? `.data/pglite-storage-${id}`) }
          : { engine: 'postgres', url: pg, ...(values.schema === undefined ? {} : { schema: values.schema }) },
      onError: (err) => io.stderr.write(`qob service ${service}: ${err.code}: ${err.message}\n`),
    };
    const running = await startService(service, options);
    io.stdout.write(
      `qob service ${service} ${id}: probes on ${running.probes.url}${running.api === undefined ? '' : `, API on ${running.api.url}`}\n`,
    );
    void running.done?.then(
      () => io.stdout.write(`qob service ${service} ${id}: replay published\n`),
      (e: unknown) => io.stderr.write(`qob service ${service} ${id}: replay failed: ${String(e)}\n`),
    );
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await running.close();
    io.stdout.write(`qob service ${service} ${id}: stopped\n`);
    return EXIT_OK;
  },
};
