import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureHashingEmbedder } from './feature-hashing.js';

function cosine(left: number[], right: number[]): number {
  return left.reduce((sum, value, index) => sum + value * (right[index] ?? 0), 0);
}

test('embedder is deterministic and unit length', () => {
  const embedder = createFeatureHashingEmbedder(128);
  const vector = embedder.embed('The quick brown fox');
  assert.deepEqual(createFeatureHashingEmbedder(128).embed('the QUICK brown fox'), vector);
  assert.equal(vector.length, 128);
  assert.ok(Math.abs(cosine(vector, vector) - 1) < 1e-9);
});

test('embedder ranks shared words higher', () => {
  const embedder = createFeatureHashingEmbedder(128);
  const query = embedder.embed('kafka consumer lag');
  assert.ok(cosine(query, embedder.embed('consumer lag of kafka groups')) > cosine(query, embedder.embed('postgres vacuum settings')));
});

test('embedder gives text without words a unit vector', () => {
  const vector = createFeatureHashingEmbedder(8).embed('  ...  ');
  assert.deepEqual(vector, [1, 0, 0, 0, 0, 0, 0, 0]);
});
