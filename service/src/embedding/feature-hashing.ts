/**
 * Feature-hashing ("hashing trick") embedder: each lower-cased word and each
 * pair of adjacent words is hashed with 32-bit FNV-1a into one of `dimension`
 * buckets with a hash-derived sign, and the vector is L2-normalised. The same
 * text always yields the same vector, and texts that share words have a
 * positive cosine similarity.
 */
import type { Embedder } from './embedder.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const WORD = /[\p{L}\p{N}]+/gu;

function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

export function createFeatureHashingEmbedder(dimension: number): Embedder {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RangeError(`embedding dimension must be a positive integer, got ${dimension}`);
  }

  function addFeature(vector: Float64Array, feature: string): void {
    const hash = fnv1a(feature);
    const bucket = hash % dimension;
    // The top bit is independent of the bucket for any dimension below 2^31.
    vector[bucket] = (vector[bucket] ?? 0) + (hash & 0x80000000 ? -1 : 1);
  }

  return {
    dimension,
    revision: `feature-hashing-v1-${dimension}`,
    embed(text) {
      const vector = new Float64Array(dimension);
      const words = text.toLowerCase().match(WORD) ?? [];
      for (let index = 0; index < words.length; index++) {
        const word = words[index] as string;
        addFeature(vector, word);
        if (index > 0) addFeature(vector, `${words[index - 1]} ${word}`);
      }

      let norm = 0;
      for (const value of vector) norm += value * value;
      // Cosine distance is undefined for the zero vector (no words), so such
      // texts share one fixed unit vector.
      if (norm === 0) {
        vector[0] = 1;
        norm = 1;
      }
      const scale = 1 / Math.sqrt(norm);
      return Array.from(vector, (value) => value * scale);
    },
  };
}
