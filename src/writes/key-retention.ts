// Deletes write receipts whose idempotency keys have expired: at start and hourly, like the audit log's retention.
import type { WriteReceipts } from '../identity/store.js';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** Prunes now and then hourly until stopped; a failed prune is reported and tried again at the next hour. */
export function startWriteKeyPruning(store: WriteReceipts, onError: (error: unknown) => void): () => void {
  const prune = () => void store.pruneWriteKeys(new Date().toISOString()).catch(onError);
  prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
