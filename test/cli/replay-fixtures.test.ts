/**
 * `qob replay --format cryptofeed FILE --verify --json` over every real capture in ../shared/fixtures, run
 * as users run it (a Node 24 child process), plus corrupted copies of a capture written to the temp dir.
 * The children run concurrently: each costs about half a second.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const bin = join(repoRoot, 'bin/qob.mjs');
const node24 = join(repoRoot, 'node_modules/.bin/node');
const fixtures = resolve(repoRoot, '../shared/fixtures');

/** Every capture `qob replay --format cryptofeed` reads, and its compressed upstream twin when one exists. */
const CAPTURES: readonly { readonly file: string; readonly venue: string; readonly twin?: string }[] = [
  { file: 'kraken/cryptofeed_KRAKEN.books.jsonl', venue: 'kraken', twin: 'kraken/cryptofeed_KRAKEN.jsonl.zst' },
  { file: 'okx/cryptofeed_OKX.books.jsonl', venue: 'okx', twin: 'okx/cryptofeed_OKX.jsonl.zst' },
  { file: 'bitfinex/cryptofeed_BITFINEX.jsonl', venue: 'bitfinex', twin: 'bitfinex/cryptofeed_BITFINEX.jsonl.zst' },
  { file: 'binance/cryptofeed_BINANCE.books.jsonl', venue: 'binance', twin: 'binance/cryptofeed_BINANCE.jsonl.zst' },
  {
    file: 'binance_futures/cryptofeed_BINANCE_FUTURES.books.jsonl',
    venue: 'binance-usdm',
    twin: 'binance_futures/cryptofeed_BINANCE_FUTURES.jsonl.zst',
  },
  { file: 'bybit/cryptofeed_BYBIT.books.jsonl', venue: 'bybit', twin: 'bybit/cryptofeed_BYBIT.jsonl.zst' },
  { file: 'coinbase/cryptofeed_COINBASE.jsonl.gz', venue: 'coinbase', twin: 'coinbase/cryptofeed_COINBASE.jsonl.zst' },
  { file: 'coinbase/cryptofeed_COINBASE_legacy_level2_2021.ndjson', venue: 'coinbase' },
  {
    file: 'bitstamp/cryptofeed_BITSTAMP.books.jsonl',
    venue: 'bitstamp',
    twin: 'bitstamp/cryptofeed_BITSTAMP.jsonl.zst',
  },
];

/** Checksums the venue sent and we matched, over the whole capture (the fixtures' READMEs). */
const CHECKSUMS_VERIFIED: Readonly<Record<string, number>> = { kraken: 4269, okx: 290 };

/**
 * The keys of a book in the `--json` report. `status` is part of the contract too: `BookReport` in
 * src/venues/feed-handler.ts ("the `qob replay --json` contract") and the table of `qob replay` print it.
 */
const BOOK_KEYS = [
  'venue',
  'symbol',
  'updates',
  'checksumsVerified',
  'checksumFailures',
  'gaps',
  'resyncs',
  'crossed',
  'bestBid',
  'bestAsk',
  'hash',
];
const DOCUMENTED_EXTRA_BOOK_KEYS = new Set(['status']);
const STATUSES = new Set(['syncing', 'in_sync', 'stale', 'failed']);
const REPORT_KEYS = ['venue', 'messages', 'badLines', 'malformed', 'unknown', 'books'];
/** A canonical exact decimal: no sign, no exponent, no trailing fraction zeros. */
const PRICE = /^\d+(\.\d*[1-9])?$/;

interface BookJson {
  [k: string]: unknown;
  venue: string;
  symbol: string;
  checksumsVerified: number;
  checksumFailures: number;
  gaps: number;
  crossed: number;
}

interface ReportJson {
  venue: string;
  messages: number;
  badLines: number;
  malformed: number;
  unknown: number;
  books: BookJson[];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without QOB_* variables (an unknown one is a config error). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QOB_') && v !== undefined) env[k] = v;
  return env;
}

const workDir = tempDir('qob-replay-fixtures-');

/** Runs `qob ARGS` in a child process (in an empty directory, so no qob.config.json is read). */
function qob(args: readonly string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(node24, [bin, ...args], { cwd: workDir, env: cleanEnv(), timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function replayJson(file: string, verify = true): Promise<Run> {
  return qob(['replay', '--format', 'cryptofeed', file, ...(verify ? ['--verify'] : []), '--json']);
}

/** Parses stdout, which must be exactly one JSON object on one line. */
function parseReport(r: Run, what: string): ReportJson {
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: stdout is one line of JSON\n${r.stdout.slice(0, 500)}`);
  const v: unknown = JSON.parse(lines[0] as string);
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `${what}: the report is a JSON object`);
  return v as ReportJson;
}

function checkReportShape(report: ReportJson, what: string): void {
  for (const k of REPORT_KEYS) assert.ok(k in report, `${what}: report lacks ${k}`);
  for (const k of ['messages', 'badLines', 'malformed', 'unknown'] as const) {
    assert.ok(Number.isSafeInteger(report[k]) && report[k] >= 0, `${what}: ${k} is a count`);
  }
  assert.ok(report.messages > 0, `${what}: messages > 0`);
  assert.ok(Array.isArray(report.books) && report.books.length > 0, `${what}: books is a non-empty array`);
  for (const b of report.books) {
    const where = `${what} ${b.symbol}`;
    const keys = Object.keys(b);
    for (const k of BOOK_KEYS) assert.ok(keys.includes(k), `${where}: book lacks ${k}`);
    const extra = keys.filter((k) => !BOOK_KEYS.includes(k));
    assert.deepEqual(
      extra.filter((k) => !DOCUMENTED_EXTRA_BOOK_KEYS.has(k)),
      [],
      `${where}: only documented keys`,
    );
    if ('status' in b) assert.ok(STATUSES.has(String(b.status)), `${where}: status ${String(b.status)}`);
    assert.equal(b.venue, report.venue, `${where}: venue`);
    assert.ok(typeof b.symbol === 'string' && b.symbol !== '', `${where}: symbol`);
    for (const k of ['updates', 'checksumsVerified', 'checksumFailures', 'gaps', 'resyncs', 'crossed']) {
      assert.ok(Number.isSafeInteger(b[k]) && (b[k] as number) >= 0, `${where}: ${k} is a count`);
    }
    for (const k of ['bestBid', 'bestAsk']) {
      const p = b[k];
      assert.ok(p === null || (typeof p === 'string' && PRICE.test(p)), `${where}: ${k} ${String(p)} is exact text`);
    }
    assert.match(String(b.hash), /^[0-9a-f]{64}$/, `${where}: hash`);
  }
}

function total(report: ReportJson, k: 'checksumsVerified' | 'checksumFailures' | 'gaps' | 'crossed'): number {
  return report.books.reduce((s, b) => s + b[k], 0);
}

/** The decompressed bytes of a capture (plain, gzip or zstd, by magic bytes like the reader). */
function contentOf(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw[0] === 0x1f && raw[1] === 0x8b) return gunzipSync(raw);
  if (raw[0] === 0x28 && raw[1] === 0xb5 && raw[2] === 0x2f && raw[3] === 0xfd) return zstdDecompressSync(raw);
  return raw;
}

const ALL_FILES = CAPTURES.flatMap((c) => (c.twin === undefined ? [c.file] : [c.file, c.twin]));
let allRuns: Promise<Map<string, Run>> | undefined;

/** Replays every capture once, concurrently; both tests below read the same runs. */
function replayAll(): Promise<Map<string, Run>> {
  allRuns ??= Promise.all(ALL_FILES.map((f) => replayJson(join(fixtures, f)))).then(
    (runs) => new Map(ALL_FILES.map((f, i) => [f, runs[i] as Run])),
  );
  return allRuns;
}

describe('qob replay --format cryptofeed FILE --verify --json on the real captures', () => {
  it('every capture and its compressed twin exit 0 with one well-formed JSON report: no checksum failure, gap or crossed book; Kraken 4269 and OKX 290 checksums verified', async (t) => {
    if (!existsSync(fixtures)) return t.skip('../shared/fixtures absent');
    const missing = ALL_FILES.filter((f) => !existsSync(join(fixtures, f)));
    assert.deepEqual(missing, [], 'every capture named in the fixtures READMEs is present');
    const runs = await replayAll();
    const reports = new Map<string, ReportJson>();
    ALL_FILES.forEach((f) => {
      const r = runs.get(f) as Run;
      assert.equal(r.code, 0, `${f}: exit code\n${r.stderr}\n${r.stdout.slice(0, 1000)}`);
      assert.equal(r.stderr, '', `${f}: nothing on stderr`);
      const report = parseReport(r, f);
      checkReportShape(report, f);
      assert.equal(report.badLines, 0, `${f}: no bad lines`);
      assert.equal(report.malformed, 0, `${f}: no malformed frames`);
      assert.equal(total(report, 'checksumFailures'), 0, `${f}: checksumFailures`);
      assert.equal(total(report, 'gaps'), 0, `${f}: gaps`);
      assert.equal(total(report, 'crossed'), 0, `${f}: crossed`);
      reports.set(f, report);
    });
    for (const c of CAPTURES) {
      for (const f of c.twin === undefined ? [c.file] : [c.file, c.twin]) {
        const report = reports.get(f) as ReportJson;
        assert.equal(report.venue, c.venue, `${f}: venue`);
        const expected = CHECKSUMS_VERIFIED[c.venue];
        if (expected !== undefined) assert.equal(total(report, 'checksumsVerified'), expected, `${f}: checksums`);
      }
    }
  });

  it('a compressed twin rebuilds the same books as its plain file, and the same whole report when the content is the same', async (t) => {
    if (!existsSync(fixtures)) return t.skip('../shared/fixtures absent');
    const pairs = CAPTURES.filter((c) => c.twin !== undefined) as { file: string; twin: string }[];
    const runs = await replayAll();
    let identical = 0;
    pairs.forEach((p) => {
      const a = parseReport(runs.get(p.file) as Run, p.file);
      const b = parseReport(runs.get(p.twin) as Run, p.twin);
      // *.books.jsonl holds the twin's lines filtered to the book connection, unedited: the books are the same.
      assert.deepEqual(b.books, a.books, `${p.twin} rebuilds the books of ${p.file}`);
      if (contentOf(join(fixtures, p.file)).equals(contentOf(join(fixtures, p.twin)))) {
        identical++;
        assert.deepEqual(b, a, `${p.twin} has the content of ${p.file}: the same report`);
      }
    });
    assert.ok(identical >= 2, 'Bitfinex and Coinbase have byte-identical twins');
  });
});

describe('qob replay on a corrupted copy of a capture', () => {
  const kraken = join(fixtures, 'kraken/cryptofeed_KRAKEN.books.jsonl');

  /** Index of the n-th received book update frame (it carries a `"c"` checksum) with a quoted price to corrupt. */
  function updateLine(lines: readonly string[], n: number): number {
    let seen = 0;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string;
      if (!l.startsWith('{"t":"recv"') || !l.includes('\\"c\\":')) continue;
      if (!/\[\[\\"\d+\.\d+\\"/.test(l)) continue;
      if (seen++ === n) return i;
    }
    throw new Error('no such update in the capture');
  }

  /** The same record with the first price of its frame made unparsable (`5.1` -> `5.1e999x`). */
  function corruptNumber(line: string): string {
    const rec = JSON.parse(line) as { data: string };
    const data = rec.data.replace(/\[\["(\d+\.\d+)"/, '[["$1e999x"');
    assert.notEqual(data, rec.data);
    return JSON.stringify({ ...rec, data });
  }

  it('bad lines (truncated, not JSON, unknown record type) and a frame with a corrupted number are counted, the books are untouched and --verify still exits 0', async (t) => {
    if (!existsSync(kraken)) return t.skip('../shared/fixtures absent');
    const lines = readFileSync(kraken, 'utf8').split('\n');
    const k = updateLine(lines, 100);
    const original = lines[k] as string;
    const corrupted = [
      ...lines.slice(0, k + 1),
      original.slice(0, Math.floor(original.length / 2)), // a truncated line
      'this is not JSON {',
      JSON.stringify({ t: 'bogus', conn: 'KRAKEN.ws.50', ts: 1618678140, data: '[]' }), // unknown record type
      corruptNumber(original), // a frame the handler rejects whole: the book must not change
      ...lines.slice(k + 1),
    ].join('\n');
    const f = join(workDir, 'kraken-bad-lines.jsonl');
    writeFileSync(f, corrupted);
    const [clean, bad, table] = await Promise.all([
      replayJson(kraken),
      replayJson(f),
      qob(['replay', '--format', 'cryptofeed', f, '--verify']),
    ]);
    assert.equal(bad.code, 0, `bad lines alone are not an integrity failure\n${bad.stderr}`);
    assert.equal(bad.stderr, '');
    const c = parseReport(clean, 'clean');
    const r = parseReport(bad, 'corrupted');
    checkReportShape(r, 'corrupted');
    assert.equal(r.badLines, 3, 'the truncated, non-JSON and unknown-type lines');
    assert.equal(r.malformed, c.malformed + 1, 'the frame with the corrupted number');
    assert.equal(r.messages, c.messages + 1, 'the corrupted frame was still fed to the handler');
    assert.deepEqual(r.books, c.books, 'a rejected frame leaves every book as the clean replay has it');
    assert.equal(total(r, 'checksumsVerified'), 4269);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /3 bad lines, 1 malformed frames/);
    assert.match(table.stdout, /verified: no checksum failure, gap or crossed book/);
  });

  it('a corrupted frame that loses book updates is replayed to the end; --verify exits 1 exactly because a checksum then fails, without --verify 0', async (t) => {
    if (!existsSync(kraken)) return t.skip('../shared/fixtures absent');
    const lines = readFileSync(kraken, 'utf8').split('\n');
    // Corrupt a run of consecutive updates in place: the updates are lost and the venue's checksums say so.
    const from = updateLine(lines, 200);
    for (let i = from; i < from + 40 && i < lines.length; i++) {
      const l = lines[i] as string;
      if (l.startsWith('{"t":"recv"') && /\[\[\\"\d+\.\d+\\"/.test(l)) lines[i] = corruptNumber(l);
    }
    lines.splice(from + 1, 0, 'garbage');
    const f = join(workDir, 'kraken-lost-updates.jsonl');
    writeFileSync(f, lines.join('\n'));
    const [verify, plain] = await Promise.all([replayJson(f), replayJson(f, false)]);
    for (const [name, r] of [
      ['--verify', verify],
      ['no --verify', plain],
    ] as const) {
      assert.equal(r.stderr, '', `${name}: nothing crashed`);
      checkReportShape(parseReport(r, name), name);
    }
    const report = parseReport(verify, '--verify');
    assert.deepEqual(parseReport(plain, 'plain'), report, 'the report does not depend on --verify');
    assert.equal(report.badLines, 1);
    assert.ok(report.malformed > 0, 'the corrupted frames are counted');
    const problems = total(report, 'checksumFailures') + total(report, 'gaps') + total(report, 'crossed');
    assert.ok(problems > 0, 'the lost updates are detected by the checksums');
    assert.equal(verify.code, 1, 'an integrity failure with --verify');
    assert.equal(plain.code, 0, 'without --verify the exit code is 0');
  });
});
