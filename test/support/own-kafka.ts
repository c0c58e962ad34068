/**
 * A single-node Kafka of a test's own (scripts/stack.sh kafka-up in a temporary QOB_STACK_DIR), for tests
 * that stop and start the broker and so must never use the shared one. It reuses the main stack's Kafka
 * jars. Ports sit below the kernel's ephemeral range (32768-60999), where an outgoing connection of a
 * concurrent test cannot hold them while the broker restarts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const STACK_SH = path.join(root, 'scripts/stack.sh');
const LIBS = process.env.QOB_STACK_KAFKA_LIBS ?? path.join(root, '.stack/kafka-libs');

/** Why an own Kafka cannot run here (no Java, no downloaded jars), or false. */
export function ownKafkaSkipReason(): string | false {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return 'java is not installed (needed for a Kafka of our own)';
  }
  if (!existsSync(LIBS) || !readdirSync(LIBS).some((f) => f.startsWith('.complete-'))) {
    return `no Kafka jars in ${LIBS} (run \`bash scripts/stack.sh up\` once, or set QOB_STACK_KAFKA_LIBS)`;
  }
  return false;
}

export interface OwnKafka {
  /** `127.0.0.1:<port>`. */
  readonly broker: string;
  /** Starts (or restarts) the broker; resolves when it is ready. */
  up(): Promise<void>;
  /** Stops the broker; its data stays for the next `up`. */
  down(): Promise<void>;
  /** Stops the broker (errors ignored) and removes its directory. */
  dispose(): Promise<void>;
}

/** A Kafka on `port` (its controller on `port + 1`), its data under a new temp dir named `dirPrefix*`. */
export function ownKafka(port: number, dirPrefix: string): OwnKafka {
  const dir = mkdtempSync(path.join(tmpdir(), dirPrefix));
  const env = {
    ...process.env,
    QOB_STACK_DIR: dir,
    QOB_STACK_KAFKA_PORT: String(port),
    QOB_STACK_KAFKA_CONTROLLER_PORT: String(port + 1),
    // Never the shared engines' ports, although kafka-up starts neither.
    QOB_STACK_PG_PORT: String(port + 340),
    QOB_STACK_REDIS_PORT: String(port + 287),
    QOB_STACK_KAFKA_LIBS: LIBS,
  };
  const stack = async (cmd: 'kafka-up' | 'kafka-down') => {
    await run('bash', [STACK_SH, cmd], { env, timeout: 150_000 });
  };
  let started = false;
  return {
    broker: `127.0.0.1:${port}`,
    up: async () => {
      started = true;
      await stack('kafka-up');
    },
    down: () => stack('kafka-down'),
    dispose: async () => {
      if (started) await stack('kafka-down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
