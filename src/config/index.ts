/** The configuration module's public surface. */
export { CONFIG_SCHEMA, type LoadConfigOptions, loadConfig, redactedConfig } from './config.ts';
export { DEFAULT_CONFIG_FILE, DEFAULTS } from './defaults.ts';
export type { ConfigIssue } from './schema.ts';
export { isSecretKey, REDACTED, Secret } from './secret.ts';
export type { LogLevel, QobConfig, VenueConfig } from './types.ts';
