/**
 * The event bus: one `Bus` contract, in-process for `qob start` and Kafka for the service split, plus the
 * Redis latest-state cache and delta fan-out. Topics, keys and the message encoding: docs/EVENTS.md.
 */
export {
  type Bus,
  type BusHandler,
  type BusHandlerContext,
  DEFAULT_DEDUP_WINDOW,
  Deduplicator,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStats,
} from './bus.ts';
export { InProcessBus, type InProcessBusOptions } from './in-process.ts';
export { KafkaBus, type KafkaBusOptions } from './kafka.ts';
export {
  type DeltaSubscribeOptions,
  type DeltaSubscription,
  RedisCache,
  type RedisCacheOptions,
  type Versioned,
} from './redis-cache.ts';
export {
  ALL_BUS_TOPICS,
  BUS_TOPICS,
  type BusTopic,
  COMPACT_VERSION,
  type DecodedMessage,
  decodeMessage,
  ENVELOPE_VERSION,
  encodeCompact,
  encodeMessage,
  encodeMessageBinary,
  keyOf,
  MARKET_DATA_TOPICS,
  topicOf,
} from './topics.ts';
