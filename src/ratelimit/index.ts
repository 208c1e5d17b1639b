export type { CounterStore, WindowCount } from './store';
export { MemoryCounterStore } from './memory-store';
export { PostgresCounterStore } from './postgres-store';
export { RedisCounterStore } from './redis-store';
export { RespClient, RedisReplyError, RedisUnavailableError } from './resp-client';
export { FailOpenStore } from './fail-open';
export { RateLimiter, FAILED_STATUSES, type EdgeRefusal, type RateLimiterOptions } from './rate-limiter';
export { SharedWindowCounter } from './shared-window-counter';
export { createCounterStore } from './create-store';
