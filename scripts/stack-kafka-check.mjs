// Used by scripts/stack.sh: one metadata round trip against the local Kafka broker, through
// @platformatic/kafka. Exits 0 when the cluster answers with at least one registered broker.
// Usage: node scripts/stack-kafka-check.mjs HOST:PORT
import { Admin } from '@platformatic/kafka';

const broker = process.argv[2];
if (!broker) {
  console.error('usage: node scripts/stack-kafka-check.mjs HOST:PORT');
  process.exit(2);
}
const admin = new Admin({ clientId: 'qob-stack-check', bootstrapBrokers: [broker], timeout: 3000, retries: 0 });
try {
  const metadata = await admin.metadata({ topics: [], forceUpdate: true });
  if (metadata.brokers.size < 1) throw new Error('metadata lists no broker');
  console.log(`kafka cluster ${metadata.id}: ${metadata.brokers.size} broker(s), controller ${metadata.controllerId}`);
} catch (error) {
  console.error(`kafka metadata failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await admin.close().catch(() => {});
}
