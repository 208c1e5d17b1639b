import type { RegistrySnapshot } from '../metrics';

/**
 * IPC between the cluster primary and its workers. Every message carries `fg` so messages from
 * other code (cluster's own internals use their own channel) are never mistaken for ours.
 */
export type PrimaryToWorker =
  | { readonly fg: 'metrics:collect'; readonly id: number }
  | { readonly fg: 'metrics:text'; readonly id: number; readonly text: string };

export type WorkerToPrimary =
  | { readonly fg: 'ready' }
  | { readonly fg: 'metrics:snapshot'; readonly id: number; readonly snapshot: RegistrySnapshot }
  | { readonly fg: 'metrics:render'; readonly id: number };

export function isMessage<T extends { fg: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { fg?: unknown }).fg === 'string';
}

/** Environment variable the primary sets for each worker: its slot 0..n-1, kept across restarts. */
export const WORKER_SLOT_ENV = 'FLOWGATE_WORKER_SLOT';
