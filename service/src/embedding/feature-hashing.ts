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

/** Continues an FNV-1a hash from `hash` over the UTF-16 code units of `text`. */
function fnv1aFrom(hash: number, text: string): number {
  let state = hash;
  for (let index = 0; index < text.length; index++) {
    state ^= text.charCodeAt(index);
    state = Math.imul(state, FNV_PRIME);
  }
  return state >>> 0;
}

/** Continues an FNV-1a hash over the space between the two words of a pair. */
function fnv1aSpace(hash: number): number {
  return Math.imul(hash ^ 0x20, FNV_PRIME) >>> 0;
}

export function createFeatureHashingEmbedder(dimension: number): Embedder {
  if (!Number.isInteger(dimension) || dimension < 1) {
    throw new RangeError(`embedding dimension must be a positive integer, got ${dimension}`);
  }

  function addFeature(vector: Float64Array, hash: number): void {
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
      let previousHash = 0;
      for (let index = 0; index < words.length; index++) {
        const word = words[index] as string;
        const wordHash = fnv1aFrom(FNV_OFFSET, word);
        addFeature(vector, wordHash);
        // FNV-1a reads the text in order, so the hash of `${previous} ${word}` continues from the hash of `previous`.
        if (index > 0) addFeature(vector, fnv1aFrom(fnv1aSpace(previousHash), word));
        previousHash = wordHash;
      }

      let norm = 0;
      for (let index = 0; index < dimension; index++) norm += (vector[index] as number) ** 2;
      // Cosine distance is undefined for the zero vector (no words), so such
      // texts share one fixed unit vector.
      if (norm === 0) {
        vector[0] = 1;
        norm = 1;
      }
      const scale = 1 / Math.sqrt(norm);
      const result = new Array<number>(dimension);
      for (let index = 0; index < dimension; index++) result[index] = (vector[index] as number) * scale;
      return result;
    },
  };
}
