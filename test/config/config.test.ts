import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { CONFIG_SCHEMA, DEFAULTS, isSecretKey, loadConfig, redactedConfig } from '../../src/config/index.ts';
import type { Schema } from '../../src/config/schema.ts';
import { isQobError, type QobError } from '../../src/core/errors.ts';
import { tempDir } from '../support/temp-dir.ts';

/** A fresh empty directory, so that no qob.config.json is picked up. */
function dir(): string {
  return tempDir('qob-config-');
}

function configFile(content: unknown): { cwd: string; file: string } {
  const cwd = dir();
  const file = join(cwd, 'qob.config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { cwd, file };
}

function invalid(fn: () => unknown): { key: string; message: string }[] {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(isQobError(err, 'QOB_ERR_CONFIG_INVALID'), `expected QOB_ERR_CONFIG_INVALID, got ${String(err)}`);
  return (err as QobError).context.errors as { key: string; message: string }[];
}

describe('loadConfig', () => {
  it('with no file, environment or flags gives the defaults', () => {
    const c = loadConfig({ cwd: dir(), env: {} });
    assert.deepEqual(JSON.parse(JSON.stringify(c)), JSON.parse(JSON.stringify(DEFAULTS)));
    assert.equal(c.api.port, 8080);
    assert.equal(c.dashboard.port, 3000);
    assert.equal(c.data.dir, '.data');
    assert.ok(c.venues.some((v) => v.id === 'sim' && v.enabled));
    assert.ok(c.venues.length > 1, 'real venues are listed beside sim');
  });

  it('returns a deeply frozen result', () => {
    const c = loadConfig({ cwd: dir(), env: {} });
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.api));
    assert.ok(Object.isFrozen(c.venues));
    assert.ok(Object.isFrozen(c.venues[0]?.symbols));
    assert.throws(() => {
      (c.api as { port: number }).port = 1;
    }, TypeError);
  });

  it('merges file, then environment, then flags, each overriding the one before', () => {
    const { cwd } = configFile({
      log: { level: 'warn' },
      api: { port: 9000, host: '0.0.0.0' },
      dashboard: { port: 3100 },
    });
    const c = loadConfig({
      cwd,
      env: { QOB_API_PORT: '9100', QOB_DASHBOARD__PORT: '3200' },
      flags: { 'dashboard.port': '3300' },
    });
    assert.equal(c.log.level, 'warn', 'from the file');
    assert.equal(c.api.host, '0.0.0.0', 'from the file');
    assert.equal(c.api.port, 9100, 'environment beats the file');
    assert.equal(c.dashboard.port, 3300, 'flags beat the environment');
    assert.equal(c.log.pretty, false, 'untouched keys keep their default');
  });

  it('reads --config FILE from anywhere and QOB_LOG_LEVEL / QOB_LOG__LEVEL name the same key', () => {
    const { file } = configFile({ metrics: { enabled: false } });
    const c = loadConfig({ cwd: dir(), file, env: { QOB_LOG__LEVEL: 'debug', QOB_LOG_PRETTY: 'true' } });
    assert.equal(c.metrics.enabled, false);
    assert.equal(c.log.level, 'debug');
    assert.equal(c.log.pretty, true);
  });

  it('a venues list replaces the default list and fills enabled from the venue defaults', () => {
    const { cwd } = configFile({ venues: [{ id: 'sim', symbols: ['SOL-USDT'] }] });
    const c = loadConfig({ cwd, env: { QOB_VENUES: undefined } });
    assert.deepEqual(JSON.parse(JSON.stringify(c.venues)), [{ id: 'sim', symbols: ['SOL-USDT'], enabled: true }]);
    const e = loadConfig({
      cwd: dir(),
      env: { QOB_VENUES: '[{"id":"kraken","symbols":["BTC-USD"],"enabled":false}]' },
    });
    assert.equal(e.venues.length, 1);
    assert.equal(e.venues[0]?.enabled, false);
  });

  it('reports every problem together, each with its key path and what was expected', () => {
    const { cwd } = configFile({
      log: { level: 'loud', colour: true },
      api: { port: 70000 },
      venues: [
        { id: 'sim', symbols: ['btc'], enabled: 'yes' },
        { id: 'sim', symbols: [] },
        { id: 'nasdaq', symbols: ['BTC-USDT-PERP', 'XBT-USD'] },
      ],
      replay: { speed: -1 },
      extra: {},
    });
    const errors = invalid(() => loadConfig({ cwd, env: { QOB_DASHBOARD_PORT: 'abc', QOB_NOPE: '1' } }));
    const byKey = new Map(errors.map((e) => [e.key, e.message]));
    assert.match(byKey.get('log.level') ?? '', /one of "fatal".*"info".*got "loud"/);
    assert.match(byKey.get('log.colour') ?? '', /unknown key/);
    assert.match(byKey.get('api.port') ?? '', /integer from 0 to 65535, got 70000/);
    assert.match(byKey.get('dashboard.port') ?? '', /integer from 0 to 65535, got "abc"/);
    assert.match(byKey.get('venues[0].symbols[0]') ?? '', /normalized symbol.*"btc"/);
    assert.match(byKey.get('venues[0].enabled') ?? '', /true or false/);
    assert.match(byKey.get('venues[1].id') ?? '', /duplicate id "sim"/);
    assert.match(byKey.get('venues[2].id') ?? '', /one of binance, .*ccxt:<id>, got "nasdaq"/);
    assert.match(byKey.get('venues[2].symbols[1]') ?? '', /not normalized/);
    assert.match(byKey.get('replay.speed') ?? '', />= 0/);
    assert.match(byKey.get('extra') ?? '', /unknown key/);
    assert.match(byKey.get('QOB_NOPE') ?? '', /names no config key/);
    assert.equal(errors.length, 12);
  });

  it('rejects unknown flag keys and a __proto__ key in the file', () => {
    const { cwd } = configFile('{"__proto__": {"polluted": true}, "api": {"port": 8081}}');
    const errors = invalid(() => loadConfig({ cwd, env: {}, flags: { 'api.nope': '1' } }));
    assert.deepEqual(errors.map((e) => e.key).sort(), ['__proto__', 'api.nope']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a missing --config file or a file that is not JSON is QOB_ERR_CONFIG_FILE', () => {
    assert.throws(
      () => loadConfig({ cwd: dir(), env: {}, file: 'missing.json' }),
      (e: unknown) => isQobError(e, 'QOB_ERR_CONFIG_FILE') && /ENOENT/.test(e.message),
    );
    const { cwd } = configFile('{ not json');
    assert.throws(
      () => loadConfig({ cwd, env: {} }),
      (e: unknown) => isQobError(e, 'QOB_ERR_CONFIG_FILE'),
    );
  });
});

describe('secrets', () => {
  it('are resolved apart from env: and file: references and never printed', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'kraken.secret'), 'file-secret-value\n');
    writeFileSync(
      join(cwd, 'qob.config.json'),
      JSON.stringify({
        venues: [{ id: 'kraken', symbols: ['BTC-USD'], apiKey: 'env:KRAKEN_KEY', apiSecret: 'file:kraken.secret' }],
      }),
    );
    const c = loadConfig({ cwd, env: { KRAKEN_KEY: 'env-key-value' } });
    const v = c.venues[0];
    assert.equal(v?.apiKey?.reveal(), 'env-key-value');
    assert.equal(v?.apiSecret?.reveal(), 'file-secret-value');
    for (const shown of [
      JSON.stringify(c),
      inspect(c, { depth: 10 }),
      String(v?.apiKey),
      JSON.stringify(redactedConfig(c)),
    ]) {
      assert.doesNotMatch(shown, /env-key-value|file-secret-value/);
    }
    assert.match(JSON.stringify(redactedConfig(c)), /"apiKey":"\[redacted\]"/);
  });

  it('an unresolvable reference is a config error that does not echo the reference target value', () => {
    const { cwd } = configFile({
      venues: [{ id: 'okx', symbols: ['BTC-USDT'], apiKey: 'env:MISSING', apiSecret: 'file:nope' }],
    });
    const errors = invalid(() => loadConfig({ cwd, env: {} }));
    assert.deepEqual(errors.map((e) => e.key).sort(), ['venues[0].apiKey', 'venues[0].apiSecret']);
    assert.match(errors.find((e) => e.key === 'venues[0].apiKey')?.message ?? '', /MISSING is not set/);
  });

  it('a secret of the wrong type is reported without showing the value', () => {
    const { cwd } = configFile({ venues: [{ id: 'okx', symbols: ['BTC-USDT'], apiKey: 123456789 }] });
    const errors = invalid(() => loadConfig({ cwd, env: {} }));
    assert.equal(errors[0]?.key, 'venues[0].apiKey');
    assert.doesNotMatch(errors[0]?.message ?? '', /123456789/);
  });

  it('every schema key named like a secret is a secret, and no other key is', () => {
    const walk = (s: Schema, key: string): void => {
      if (key !== '') assert.equal(s.kind === 'secret', isSecretKey(key.split('.').pop() ?? ''), key);
      if (s.kind === 'object') for (const [k, f] of Object.entries(s.fields)) walk(f, key === '' ? k : `${key}.${k}`);
      if (s.kind === 'array') walk(s.items, key);
    };
    walk(CONFIG_SCHEMA, '');
    assert.ok(['apiSecret', 'dbPassword', 'authToken', 'apiKey', 'secret'].every(isSecretKey));
    assert.ok(!['api', 'tokens', 'keys', 'port'].some(isSecretKey));
  });
});
