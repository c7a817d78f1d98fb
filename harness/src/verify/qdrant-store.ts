/**
 * Reads one run's points from the namespace's Qdrant collection over the REST
 * API. Counts use `exact: true` with a run_id filter, never the collection's
 * approximate points_count.
 */
import { toPointId } from '../../../service/src/stores/point-id.js';
import type { StoredRecord } from './reconcile.js';

const SCROLL_PAGE = 1000;
const RETRIEVE_BATCH = 1000;
const PAYLOAD_FIELDS = ['id', 'run_id', 'content_hash'];

export class QdrantRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'QdrantRequestError';
  }
}

export interface QdrantStore {
  /** Base URL and collection, for evidence. */
  readonly where: string;
  count(runId: string): Promise<number>;
  list(runId: string): Promise<StoredRecord[]>;
  findByIds(ids: readonly string[]): Promise<StoredRecord[]>;
  /** Describes the count request, for evidence. */
  describeCount(runId: string): string;
}

interface PointJson {
  id: string | number;
  payload?: Record<string, unknown> | null;
}

export function runFilter(runId: string): object {
  return { must: [{ key: 'run_id', match: { value: runId } }] };
}

function toRecord(point: PointJson): StoredRecord {
  const payload = point.payload ?? {};
  return {
    id: typeof payload.id === 'string' ? payload.id : String(point.id),
    contentHash: typeof payload.content_hash === 'string' ? payload.content_hash : null,
    runId: typeof payload.run_id === 'string' ? payload.run_id : null,
  };
}

/** Creates a reader for `collection` on the Qdrant at `baseUrl`. A missing collection reads as empty. */
export function createQdrantStore(baseUrl: string, collection: string, apiKey?: string): QdrantStore {
  const root = baseUrl.replace(/\/+$/, '');
  const collectionPath = `/collections/${encodeURIComponent(collection)}`;

  const post = async <T>(path: string, body: object): Promise<T | undefined> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (apiKey) headers['api-key'] = apiKey;
    const response = await fetch(`${root}${collectionPath}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 404) return undefined;
    const text = await response.text();
    if (!response.ok) {
      throw new QdrantRequestError(`Qdrant POST ${collectionPath}${path} returned HTTP ${response.status}: ${text.slice(0, 200)}`, response.status);
    }
    return (JSON.parse(text) as { result: T }).result;
  };

  return {
    where: `${root}${collectionPath}`,
    describeCount: (runId) => `POST ${root}${collectionPath}/points/count ${JSON.stringify({ filter: runFilter(runId), exact: true })}`,
    async count(runId) {
      const result = await post<{ count: number }>('/points/count', { filter: runFilter(runId), exact: true });
      return result?.count ?? 0;
    },
    async list(runId) {
      const records: StoredRecord[] = [];
      let offset: string | number | null | undefined;
      do {
        const page = await post<{ points: PointJson[]; next_page_offset?: string | number | null }>('/points/scroll', {
          filter: runFilter(runId),
          limit: SCROLL_PAGE,
          with_payload: PAYLOAD_FIELDS,
          with_vector: false,
          ...(offset !== undefined && offset !== null ? { offset } : {}),
        });
        if (!page) break;
        records.push(...page.points.map(toRecord));
        offset = page.next_page_offset;
      } while (offset !== undefined && offset !== null);
      return records;
    },
    async findByIds(ids) {
      const records: StoredRecord[] = [];
      for (let start = 0; start < ids.length; start += RETRIEVE_BATCH) {
        const pointIds = ids.slice(start, start + RETRIEVE_BATCH).map((id) => toPointId(id));
        const points = await post<PointJson[]>('/points', { ids: pointIds, with_payload: PAYLOAD_FIELDS, with_vector: false });
        records.push(...(points ?? []).map(toRecord));
      }
      return records;
    },
  };
}
