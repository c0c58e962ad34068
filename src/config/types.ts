/** The shape of the effective configuration (after defaults, file, environment and flags, validated). */
import type { Secret } from './secret.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface VenueConfig {
  /** Our venue id (the registry key in src/venues/index.ts; `sim` is the built-in synthetic venue). */
  readonly id: string;
  /** Instruments in our normalized form, for example `BTC-USDT`. */
  readonly symbols: readonly string[];
  readonly enabled: boolean;
  /** Overrides the live connector's WebSocket base URL (`ws://` or `wss://`), e.g. a local venue emulator. */
  readonly wsBase?: string;
  /** Overrides the live connector's REST base URL (`http://` or `https://`). */
  readonly restBase?: string;
  /** Credentials for private channels; resolved apart from the rest (`env:NAME` or `file:PATH`). */
  readonly apiKey?: Secret;
  readonly apiSecret?: Secret;
}

export interface QobConfig {
  readonly log: { readonly level: LogLevel; readonly pretty: boolean };
  readonly metrics: { readonly enabled: boolean };
  readonly api: { readonly host: string; readonly port: number };
  readonly dashboard: { readonly port: number };
  readonly data: { readonly dir: string };
  readonly venues: readonly VenueConfig[];
  readonly replay: { readonly speed: number };
}
