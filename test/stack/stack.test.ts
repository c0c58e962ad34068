import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';

/**
 * Smoke tests of the local stack of real engines (scripts/stack.sh): each service named by a QOB_TEST_*
 * variable answers a trivial round trip through a real client. Without the variables, each test skips.
 */
const NOT_STARTED = 'real services not started: run npm run stack:up and eval "$(bash scripts/stack.sh env)"';

/** One RESP reply, as far as these tests need: simple string, error, integer, bulk string or nil. */
type RespReply = string | number | null | Error;

/** Parses complete RESP replies from the front of `buf`; returns them and the unconsumed rest. */
function parseResp(buf: Buffer): { replies: RespReply[]; rest: Buffer } {
  const replies: RespReply[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const kind = String.fromCharCode(buf[at] ?? 0);
    const line = buf.toString('utf8', at + 1, eol);
    if (kind === '+') replies.push(line);
    else if (kind === '-') replies.push(new Error(line));
    else if (kind === ':') replies.push(Number(line));
    else if (kind === '$') {
      const len = Number(line);
      if (len < 0) replies.push(null);
      else {
        if (buf.length < eol + 2 + len + 2) break;
        replies.push(buf.toString('utf8', eol + 2, eol + 2 + len));
        at = eol + 2 + len + 2;
        continue;
      }
    } else throw new Error(`unexpected RESP reply type ${JSON.stringify(kind)}`);
    at = eol + 2;
  }
  return { replies, rest: buf.subarray(at) };
}

/** Sends the commands as one pipeline over a fresh TCP connection and resolves with one reply each. */
function redisPipeline(url: string, commands: string[][]): Promise<RespReply[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(5000, () => socket.destroy(new Error(`redis at ${url} did not answer in 5 s`)));
    let pending: Buffer = Buffer.alloc(0);
    const replies: RespReply[] = [];
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const parsed = parseResp(Buffer.concat([pending, chunk]));
      pending = parsed.rest;
      replies.push(...parsed.replies);
      if (replies.length >= commands.length) {
        socket.end();
        resolve(replies);
      }
    });
    socket.on('connect', () => {
      const wire = commands
        .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
        .join('');
      socket.write(wire);
    });
  });
}

describe('local stack of real engines (scripts/stack.sh)', () => {
  test('PostgreSQL at QOB_TEST_PG_URL runs select version() and reports PostgreSQL 15 on the named database', async (t) => {
    const url = process.env.QOB_TEST_PG_URL;
    if (!url) return t.skip(NOT_STARTED);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      const res = await client.query<{ version: string; db: string }>(
        'select version() as version, current_database() as db',
      );
      assert.match(res.rows[0]?.version ?? '', /^PostgreSQL 15\./);
      assert.equal(res.rows[0]?.db, new URL(url).pathname.slice(1));
    } finally {
      await client.end();
    }
  });

  test('Redis at QOB_TEST_REDIS_URL answers PING, and GET returns what SET stored', async (t) => {
    const url = process.env.QOB_TEST_REDIS_URL;
    if (!url) return t.skip(NOT_STARTED);
    const key = `qob:test:stack:${randomUUID()}`;
    const replies = await redisPipeline(url, [
      ['PING'],
      ['SET', key, 'bid 42.5'],
      ['GET', key],
      ['DEL', key],
      ['GET', key],
    ]);
    assert.deepEqual(replies, ['PONG', 'OK', 'bid 42.5', 1, null]);
  });

  test('Kafka at QOB_TEST_KAFKA_BROKERS lists a broker in its metadata and shows a topic just created', async (t) => {
    const brokers = process.env.QOB_TEST_KAFKA_BROKERS;
    if (!brokers) return t.skip(NOT_STARTED);
    const admin = new Admin({ clientId: 'qob-stack-test', bootstrapBrokers: brokers.split(','), timeout: 10_000 });
    const topic = `qob-test-stack-${randomUUID()}`;
    try {
      const before = await admin.metadata({ topics: [] });
      assert.ok(before.brokers.size >= 1, 'metadata lists at least one broker');
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const after = await admin.metadata({ topics: [topic], forceUpdate: true });
      assert.equal(after.topics.get(topic)?.partitionsCount, 1);
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.close();
    }
  });
});
