import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/config/secret.ts';
import { createLogger, moduleLogger } from '../../src/observability/logger.ts';

/** A logger writing into an array of parsed lines. */
function capture(pretty = false): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', pretty }, { destination: { write: (s: string) => lines.push(s) } });
  return { lines, logger };
}

const SECRETS = ['Bearer abc.def', 'hunter2', 's3cr3t', 'tok-123', 'key-456', 'JBSWY3DPEHPK3PXP', 'sess=1'];

describe('logger', () => {
  it('writes one JSON object per line with level, time, module and message', () => {
    const { lines, logger } = capture();
    moduleLogger(logger, 'replay').info({ venue: 'kraken' }, 'done');
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(o.level, 'info');
    assert.equal(o.module, 'replay');
    assert.equal(o.venue, 'kraken');
    assert.equal(o.msg, 'done');
    assert.equal(typeof o.time, 'string');
  });

  it('redacts authorization headers, passwords, secrets, tokens, API keys and TOTP seeds at any depth', () => {
    const { lines, logger } = capture();
    const log = moduleLogger(logger, 'api');
    log.info(
      { req: { headers: { authorization: SECRETS[0], cookie: SECRETS[6], 'x-mbx-apikey': SECRETS[4] } } },
      'request',
    );
    log.info({ password: SECRETS[1], user: { secret: SECRETS[2], totpSeed: SECRETS[5] } }, 'login');
    log.info({ a: { b: { token: SECRETS[3], apiKey: SECRETS[4] } } }, 'nested');
    log.info({ config: { venues: [{ id: 'okx', apiSecret: SECRETS[2] }] } }, 'config');
    log.info({ key: new Secret(SECRETS[1] ?? '', 'inline') }, 'secret value object');
    assert.equal(lines.length, 5);
    const text = lines.join('');
    for (const s of SECRETS) assert.ok(!text.includes(s), `${s} leaked: ${text}`);
    assert.match(text, /"authorization":"\[redacted\]"/);
    assert.match(text, /"totpSeed":"\[redacted\]"/);
    assert.match(text, /"id":"okx"/, 'non-secret fields stay');
  });

  it('redacts in pretty mode too', () => {
    const { lines, logger } = capture(true);
    logger.child({ module: 'x' }).warn({ password: 'hunter2', n: 1 }, 'hello');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /WARN +\[x\] hello/);
    assert.ok(!(lines[0] ?? '').includes('hunter2'));
  });

  it('drops lines below the configured level', () => {
    const { lines, logger } = capture();
    logger.debug('hidden');
    logger.info('shown');
    assert.equal(lines.length, 1);
  });
});
