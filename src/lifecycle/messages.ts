/**
 * IPC between the cluster primary and its workers. Every message carries `fg` so messages from
 * other code (cluster's own internals and prom-client's metric collection, src/metrics/cluster.ts,
 * use their own) are never mistaken for ours. A worker asks for the cluster's exposition when
 * `/metrics` is scraped on the main port, which any worker may answer.
 */
export type PrimaryToWorker = { readonly fg: 'metrics:text'; readonly id: number; readonly text: string };

export type WorkerToPrimary = { readonly fg: 'ready' } | { readonly fg: 'metrics:render'; readonly id: number };

export function isMessage<T extends { fg: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { fg?: unknown }).fg === 'string';
}

/** Environment variable the primary sets for each worker: its slot 0..n-1, kept across restarts. */
export const WORKER_SLOT_ENV = 'FLOWGATE_WORKER_SLOT';
