/**
 * Every configuration default, in one place. `loadConfig` starts from these and applies, in order, the
 * config file, `QOB_*` environment variables and command-line flags; the result is validated once.
 */
import type { QobConfig } from './types.ts';

/** Config file read from the working directory when `--config` is not given (if it exists). */
export const DEFAULT_CONFIG_FILE = 'qob.config.json';

/** Major pairs, in our normalized `BASE-QUOTE` form. */
const USDT_MAJORS = ['BTC-USDT', 'ETH-USDT'];
const USD_MAJORS = ['BTC-USD', 'ETH-USD'];
const USDT_PERPS = ['BTC-USDT-PERP', 'ETH-USDT-PERP'];

/**
 * Defaults for keys left out of a venue entry (a configured `venues` list replaces the default list).
 * `wsBase` and `restBase` have no default: without them a venue's live connector uses the venue's own URLs.
 */
export const VENUE_DEFAULTS = { enabled: true } as const;

export const DEFAULTS: QobConfig = {
  log: { level: 'info', pretty: false },
  metrics: { enabled: true },
  api: { host: '127.0.0.1', port: 8080 },
  dashboard: { port: 3000 },
  data: { dir: '.data' },
  // The built-in synthetic venue, then the real venues (`qob start` connects those with a live connector).
  venues: [
    { id: 'sim', symbols: USDT_MAJORS, enabled: true },
    { id: 'binance', symbols: USDT_MAJORS, enabled: true },
    { id: 'binance-usdm', symbols: USDT_PERPS, enabled: true },
    { id: 'okx', symbols: USDT_MAJORS, enabled: true },
    { id: 'bybit', symbols: USDT_MAJORS, enabled: true },
    { id: 'coinbase', symbols: USD_MAJORS, enabled: true },
    { id: 'kraken', symbols: USD_MAJORS, enabled: true },
    { id: 'bitfinex', symbols: USD_MAJORS, enabled: true },
    { id: 'bitstamp', symbols: USD_MAJORS, enabled: true },
  ],
  // 0 replays as fast as possible; otherwise a multiple of the recorded pace.
  replay: { speed: 0 },
  // What qob start ingests is stored in the embedded engine under data.dir unless told otherwise.
  store: {
    engine: 'embedded',
    schema: 'public',
    snapshotIntervalMs: 60_000,
    snapshotDepth: 0,
    writerQueueSize: 100_000,
    retentionDays: { trades: 90, bookDeltas: 7, bookSnapshots: 30, venueStatus: 90, candles1s: 30, candles1m: 0 },
    retentionIntervalMs: 3_600_000,
  },
};
