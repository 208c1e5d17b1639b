export type { CounterStore, WindowCount } from './store';
export { MemoryCounterStore } from './memory-store';
export { PostgresCounterStore } from './postgres-store';
export { RedisCounterStore } from './redis-store';
export { RespClient, RedisReplyError, RedisUnavailableError } from './resp-client';
export { FailOpenStore } from './fail-open';
export { RateLimiter, FAILED_STATUSES, type RateLimiterOptions } from './rate-limiter';
export { createCounterStore } from './create-store';
