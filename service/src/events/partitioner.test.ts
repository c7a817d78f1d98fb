/** The key-hash partitioner against kafkajs's own DefaultPartitioner and murmur2. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { createKeyHashPartitioner, murmur2 } from './partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

function metadata(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));
}

function sampleKeys(): (string | Buffer)[] {
  const keys: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'abcd', 'bench-run-1-42', '21', 'ÄÖÜ straße', '東京タワー', '😀', 'x'.repeat(257)];
  for (let length = 0; length < 64; length++) keys.push(randomBytes(length));
  for (let index = 0; index < 500; index++) keys.push(`item-${index}-${randomBytes(6).toString('hex')}`);
  return keys;
}

test('murmur2 matches kafkajs', () => {
  for (const key of sampleKeys()) {
    const bytes = typeof key === 'string' ? Buffer.from(key) : key;
    assert.equal(murmur2(bytes), kafkajsMurmur2(key), `key ${JSON.stringify(key.toString())}`);
  }
});

test('keys map to DefaultPartitioner partitions', () => {
  const ours = createKeyHashPartitioner();
  const reference = Partitioners.DefaultPartitioner();
  for (const count of [1, 3, 6, 7, 64]) {
    const partitionMetadata = metadata(count);
    for (const key of sampleKeys()) {
      const args = { topic: 'memory.events', partitionMetadata, message: { key, value: 'v' } };
      assert.equal(ours(args), reference(args), `key ${JSON.stringify(key.toString())}, ${count} partitions`);
    }
  }
});

test('explicit partition wins over the key', () => {
  const ours = createKeyHashPartitioner();
  assert.equal(ours({ topic: 't', partitionMetadata: metadata(6), message: { key: 'a', value: 'v', partition: 4 } }), 4);
});

test('keyless messages spread over partitions', () => {
  const ours = createKeyHashPartitioner();
  const seen = new Set<number>();
  for (let index = 0; index < 12; index++) seen.add(ours({ topic: 't', partitionMetadata: metadata(6), message: { value: 'v' } }));
  assert.equal(seen.size, 6);
});
