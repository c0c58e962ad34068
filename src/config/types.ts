/** The shape of the effective configuration (after defaults, file, environment and flags, validated). */
import type { Secret } from './secret.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface VenueConfig {
  /** Our venue id (the registry key in src/venues/index.ts; `sim` is the built-in synthetic venue). */
  readonly id: string;
  /** Instruments in our normalized form, for example `BTC-USDT`. */
  readonly symbols: readonly string[];
  readonly enabled: boolean;
  /** Which feed runs: `l2` price levels (default) or `l3` order by order, L2 derived (docs/ADD_A_VENUE.md). */
  readonly book?: 'l2' | 'l3';
  /** Overrides the live connector's WebSocket base URL (`ws://` or `wss://`), e.g. a local venue emulator. */
  readonly wsBase?: string;
  /** Overrides the live connector's REST base URL (`http://` or `https://`). */
  readonly restBase?: string;
  /** Credentials for private channels; resolved apart from the rest (`env:NAME` or `file:PATH`). */
  readonly apiKey?: Secret;
  readonly apiSecret?: Secret;
}

/** Days kept per stored table; 0 keeps it forever. */
export interface StoreRetentionConfig {
  readonly trades: number;
  readonly bookDeltas: number;
  readonly bookSnapshots: number;
  readonly venueStatus: number;
  readonly candles1s: number;
  readonly candles1m: number;
}

export interface StoreConfig {
  /** `embedded`: PGlite under `data.dir`/pglite; `postgres`: the server at `url`; `none`: nothing stored. */
  readonly engine: 'embedded' | 'postgres' | 'none';
  /** The PostgreSQL URL, password included (a secret: `env:NAME`, `file:PATH` or inline); required for `postgres`. */
  readonly urlSecret?: Secret;
  /** Schema of every table on the server. */
  readonly schema: string;
  /** Receive-time ms between the store's own periodic book snapshots; 0 disables them. */
  readonly snapshotIntervalMs: number;
  /** Levels per side in a periodic snapshot; 0 keeps the whole book. */
  readonly snapshotDepth: number;
  /** Events accepted but not yet written, at most; beyond it appends are refused and counted. */
  readonly writerQueueSize: number;
  readonly retentionDays: StoreRetentionConfig;
  /** How often retention runs while `qob start` runs; 0 never. */
  readonly retentionIntervalMs: number;
}

export interface QobConfig {
  readonly log: { readonly level: LogLevel; readonly pretty: boolean };
  readonly metrics: { readonly enabled: boolean };
  readonly api: { readonly host: string; readonly port: number };
  readonly dashboard: { readonly port: number };
  readonly data: { readonly dir: string };
  readonly venues: readonly VenueConfig[];
  readonly replay: { readonly speed: number };
  readonly store: StoreConfig;
}
