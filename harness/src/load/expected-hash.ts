/**
 * The content hash the service stores for an item, computed with the
 * service's own normalizeItem and contentHash, so the harness and the writers
 * cannot disagree on what "the same payload" means.
 */
import { contentHash } from '../../../service/src/events/content-hash.js';
import { normalizeItem, type StoreItem } from '../../../service/src/events/normalize-item.js';

/** Hash of the payload that the service derives from `body` (a request item). */
export function expectedContentHash(body: Record<string, unknown>, defaultNamespace: string): string {
  const normalized = normalizeItem(body as unknown as StoreItem, { namespace: defaultNamespace });
  return contentHash(normalized.payload);
}
