/**
 * The vector index in Qdrant: one collection per namespace (cosine distance,
 * size SOMA_VECTOR_SIZE), created when missing. Upserts wait for the write
 * (wait=true) and are split by point count and by request bytes, because
 * Qdrant rejects requests above its size limit (32 MiB by default,
 * service.max_request_size_mb).
 */
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Logger } from 'pino';
import { toPointId } from './point-id.js';

/** Keyword payload indexes that verification filters and counts use. */
export const INDEXED_PAYLOAD_FIELDS = ['run_id', 'namespace', 'id'] as const;
export const DEFAULT_MAX_POINTS_PER_REQUEST = 2_000;
/** Half of Qdrant's default request limit, leaving room for the size estimate's error. */
export const DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** The payload stored with each point. */
export interface PointPayload {
  id: string;
  run_id: string | null;
  namespace: string;
  type: string;
  timestamp: string;
  content_hash: string;
  payload: Record<string, unknown>;
}

export interface VectorPoint {
  namespace: string;
  vector: number[];
  payload: PointPayload;
}

export interface SearchHit {
  id: string;
  score: number;
  payload: Record<string, unknown>;
}

export interface VectorStore {
  /** Creates the namespace's collection when missing and checks its vector size. */
  ensureCollection(namespace: string): Promise<void>;
  /** Upserts the points; a repeated item id keeps the last occurrence. Returns the number of requests sent. */
  upsert(points: readonly VectorPoint[]): Promise<number>;
  search(namespace: string, vector: number[], limit: number, filter?: Record<string, unknown>): Promise<SearchHit[]>;
  /** Checks that Qdrant responds and that no known collection has the wrong vector size. */
  check(namespace: string): Promise<string>;
  close(): Promise<void>;
}

export interface QdrantVectorStoreOptions {
  url: string;
  apiKey?: string | undefined;
  vectorSize: number;
  log: Logger;
  maxPointsPerRequest?: number;
  maxRequestBytes?: number;
  /** Called before each upsert request; tests count requests with it. */
  onRequest?: (collection: string, points: number, bytes: number) => void;
}

/** A collection whose vector size differs from the configured one; writing to it would fail or lose data. */
export class VectorSizeMismatchError extends Error {
  readonly collection: string;
  readonly actual: number | string;
  readonly expected: number;

  constructor(collection: string, actual: number | string, expected: number) {
    super(
      `Qdrant collection ${collection} has vector size ${actual} but SOMA_VECTOR_SIZE is ${expected}; ` +
        `delete the collection so the service recreates it, or set SOMA_VECTOR_SIZE=${actual}`,
    );
    this.name = 'VectorSizeMismatchError';
    this.collection = collection;
    this.actual = actual;
    this.expected = expected;
  }
}

/**
 * A search that Qdrant rejected as invalid, such as a filter on a key or a
 * value it cannot match. The request is at fault, not Qdrant's availability.
 */
export class QdrantSearchRejectedError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, options: { cause: unknown }) {
    super(`Qdrant rejected the search with status ${status}: ${reason}`, options);
    this.name = 'QdrantSearchRejectedError';
    this.status = status;
    this.reason = reason;
  }
}

/**
 * Statuses of a Qdrant response that blame the search request itself. 404 (no
 * such collection) is left to the caller, and 401, 403, 408 and 429 concern
 * the API key or Qdrant's load, not the request.
 */
const REJECTED_SEARCH_STATUSES = new Set([400, 422]);

/** Returns the error text of a Qdrant error envelope `{"status": {"error": "..."}}`, or the HTTP reason phrase. */
export function qdrantReason(error: unknown): string {
  const data = (error as { data?: { status?: { error?: unknown } } } | null)?.data;
  const reason = data?.status?.error;
  if (typeof reason === 'string' && reason !== '') return reason;
  return error instanceof Error ? error.message : String(error);
}

export function qdrantStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function vectorSizeOf(info: { config?: { params?: { vectors?: unknown } } }): number | string {
  const vectors = info.config?.params?.vectors as { size?: unknown } | undefined;
  return typeof vectors?.size === 'number' ? vectors.size : 'unknown (named vectors)';
}

/**
 * Estimates the UTF-8 size of `value` as JSON without serialising it: each
 * string's bytes plus quotes, 24 bytes per number, and the punctuation around
 * keys and elements. Escapes are not counted, so text full of quotes,
 * backslashes or control characters can be up to twice (control characters
 * six times) as large as estimated.
 */
export function estimateJsonBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value) + 2;
  if (typeof value === 'number') return 24;
  if (value === null || typeof value !== 'object') return 5;
  let bytes = 2;
  if (Array.isArray(value)) {
    for (const element of value) bytes += estimateJsonBytes(element) + 1;
    return bytes;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) bytes += Buffer.byteLength(key) + 4 + estimateJsonBytes(record[key]);
  return bytes;
}

/** Estimates the JSON size of one point: the payload plus up to 24 bytes per float. */
function estimateBytes(point: VectorPoint): number {
  return estimateJsonBytes(point.payload) + point.vector.length * 24 + 64;
}

/** Splits points into requests of at most `maxPoints` points and about `maxBytes` bytes. */
export function splitPoints(
  points: readonly VectorPoint[],
  maxPoints: number,
  maxBytes: number,
): { points: VectorPoint[]; bytes: number }[] {
  const requests: { points: VectorPoint[]; bytes: number }[] = [];
  let current: VectorPoint[] = [];
  let bytes = 0;
  for (const point of points) {
    const size = estimateBytes(point);
    if (current.length > 0 && (current.length >= maxPoints || bytes + size > maxBytes)) {
      requests.push({ points: current, bytes });
      current = [];
      bytes = 0;
    }
    current.push(point);
    bytes += size;
  }
  if (current.length > 0) requests.push({ points: current, bytes });
  return requests;
}

function toFilter(filter: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (filter === undefined || Object.keys(filter).length === 0) return undefined;
  return {
    must: Object.entries(filter).map(([key, value]) => ({ key, match: { value } })),
  };
}

export function createQdrantVectorStore(options: QdrantVectorStoreOptions): VectorStore {
  const { log, vectorSize } = options;
  const maxPoints = options.maxPointsPerRequest ?? DEFAULT_MAX_POINTS_PER_REQUEST;
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const client = new QdrantClient({
    url: options.url,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    checkCompatibility: false,
    timeout: 30_000,
  });
  const ready = new Map<string, Promise<void>>();
  const mismatches = new Map<string, VectorSizeMismatchError>();

  async function verifySize(collection: string): Promise<void> {
    const info = await client.getCollection(collection);
    const actual = vectorSizeOf(info as { config?: { params?: { vectors?: unknown } } });
    if (actual !== vectorSize) {
      const mismatch = new VectorSizeMismatchError(collection, actual, vectorSize);
      mismatches.set(collection, mismatch);
      throw mismatch;
    }
    mismatches.delete(collection);
  }

  async function createCollection(collection: string): Promise<void> {
    const exists = await client.collectionExists(collection);
    if (!exists.exists) {
      try {
        await client.createCollection(collection, { vectors: { size: vectorSize, distance: 'Cosine' } });
        log.info({ collection, vectorSize }, 'qdrant collection created');
      } catch (error) {
        // Another instance may have created it in the meantime (409 Conflict,
        // or 400 on older Qdrant versions), and verifySize finds out whether it exists.
        log.info({ collection, err: error }, 'qdrant collection create failed, checking whether it exists');
      }
    }
    await verifySize(collection);

    for (const field of INDEXED_PAYLOAD_FIELDS) {
      await client.createPayloadIndex(collection, { field_name: field, field_schema: 'keyword', wait: true });
    }
  }

  async function ensureCollection(collection: string): Promise<void> {
    let pending = ready.get(collection);
    if (pending === undefined) {
      pending = createCollection(collection);
      ready.set(collection, pending);
      // A failed attempt is forgotten so the next call tries again.
      pending.catch(() => ready.delete(collection));
    }
    await pending;
  }

  return {
    ensureCollection,

    async upsert(points) {
      const lastById = new Map<string, VectorPoint>();
      for (const point of points) {
        const key = `${point.namespace}\u0000${point.payload.id}`;
        lastById.delete(key);
        lastById.set(key, point);
      }
      const byCollection = new Map<string, VectorPoint[]>();
      for (const point of lastById.values()) {
        const group = byCollection.get(point.namespace);
        if (group === undefined) byCollection.set(point.namespace, [point]);
        else group.push(point);
      }

      let requests = 0;
      for (const [collection, group] of byCollection) {
        await ensureCollection(collection);
        for (const request of splitPoints(group, maxPoints, maxBytes)) {
          options.onRequest?.(collection, request.points.length, request.bytes);
          await client.upsert(collection, {
            wait: true,
            points: request.points.map((point) => ({
              id: toPointId(point.payload.id),
              vector: point.vector,
              payload: point.payload as unknown as Record<string, unknown>,
            })),
          });
          requests++;
        }
      }
      return requests;
    },

    async search(namespace, vector, limit, filter) {
      const qdrantFilter = toFilter(filter);
      let hits;
      try {
        hits = await client.search(namespace, { vector, limit, with_payload: true, ...(qdrantFilter === undefined ? {} : { filter: qdrantFilter }) });
      } catch (error) {
        const status = qdrantStatus(error);
        if (status !== undefined && REJECTED_SEARCH_STATUSES.has(status)) {
          throw new QdrantSearchRejectedError(status, qdrantReason(error), { cause: error });
        }
        throw error;
      }
      return hits.map((hit) => {
        const payload = (hit.payload ?? {}) as Partial<PointPayload>;
        return { id: String(payload.id ?? hit.id), score: hit.score, payload: payload.payload ?? {} };
      });
    },

    async check(namespace) {
      await ensureCollection(namespace);
      await verifySize(namespace);
      const [first] = mismatches.values();
      if (first !== undefined) throw first;
      return `collection ${namespace} has vector size ${vectorSize}`;
    },

    async close() {
      // The REST client keeps no connections that need closing.
    },
  };
}
