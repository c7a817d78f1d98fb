/**
 * The vector-indexer: embeds each event's text (or uses the event's own
 * embedding) and upserts the batch into the namespace's Qdrant collection.
 */
import type { Embedder } from '../embedding/embedder.js';
import { canonicalJson, contentHash } from '../events/content-hash.js';
import { runIdOf } from '../events/normalize-item.js';
import type { MemoryEvent } from '../events/schema.js';
import type { Metrics } from '../metrics.js';
import { describeFailure } from '../readiness.js';
import { qdrantReason, qdrantStatus, VectorSizeMismatchError, type VectorPoint, type VectorStore } from '../stores/qdrant-vector-store.js';
import { listNames, type BatchWriter } from './batch-consumer.js';

/** Returns the text that represents an event in the vector index: payload.text, or else the canonical JSON of the payload. */
export function embeddingTextOf(event: MemoryEvent): string {
  const text = event.payload.text;
  return typeof text === 'string' ? text : canonicalJson(event.payload);
}

export function toVectorPoint(event: MemoryEvent, embedder: Embedder): VectorPoint {
  return {
    namespace: event.namespace,
    vector: event.embedding ?? embedder.embed(embeddingTextOf(event)),
    payload: {
      id: event.id,
      run_id: runIdOf(event.payload),
      namespace: event.namespace,
      type: event.type,
      timestamp: event.timestamp,
      content_hash: contentHash(event.payload),
      payload: event.payload,
    },
  };
}

export function createVectorIndexer(store: VectorStore, embedder: Embedder, metrics: Metrics): BatchWriter {
  return {
    name: 'qdrant',
    component: 'vector-indexer',
    store: 'Qdrant',
    describeTarget(events) {
      const names = events.map((event) => event.namespace);
      return `${new Set(names).size === 1 ? 'collection' : 'collections'} ${listNames(names)}`;
    },
    describeError(error) {
      const status = qdrantStatus(error);
      return status === undefined ? describeFailure(error) : `Qdrant answered HTTP ${status}: ${qdrantReason(error)}`;
    },
    reject(event) {
      if (event.embedding === undefined || event.embedding.length === embedder.dimension) return undefined;
      return {
        reason: 'embedding_size',
        detail: `the event embedding has ${event.embedding.length} dimensions and the collections have ${embedder.dimension}`,
      };
    },
    async write(events) {
      const points = events.map((event) => toVectorPoint(event, embedder));
      const stopTimer = metrics.qdrantWriteDuration.startTimer();
      try {
        await store.upsert(points);
      } catch (error) {
        metrics.qdrantWriteFailures.inc();
        throw error;
      } finally {
        stopTimer();
      }
    },
    isDataError(error) {
      // A wrong vector size is a configuration problem that affects every
      // event, so it stalls the partition (and fails /readyz) instead of
      // dead-lettering the batch.
      if (error instanceof VectorSizeMismatchError) return false;
      const message = error instanceof Error ? error.message : '';
      return qdrantStatus(error) === 400 && !/dimension/i.test(message);
    },
  };
}
