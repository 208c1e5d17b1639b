export { runBench, formatReport, formatCase } from './bench';
export type { BenchOptions, BenchReport, BenchCase, Scenario } from './bench';
export { runLoad, send, post } from './load';
export type { LoadOptions, LoadResult, PoolEntry, SendResult } from './load';
export {
  startBenchServer,
  exchangePool,
  pingPool,
  issueToken,
  measureRsaPerSecond,
  bookableDate,
  freePort,
  entry,
  BENCH_FLOW,
} from './harness';
export type { BenchServer, BenchServerOptions } from './harness';
export { sealForEndpoint, openEndpointResponse } from './whatsapp-sealer';
export type { SealedBody } from './whatsapp-sealer';
export { runSoak, formatSoak, formatSample } from './soak';
export type { SoakOptions, SoakReport, SoakSample } from './soak';
export type { Usage } from './server';
export { runRatios, formatRatios } from './ratios';
export type { RatioOptions, RatioReport, RatioSample } from './ratios';
export { startBareServer } from './bare-server';
