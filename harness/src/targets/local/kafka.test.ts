import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { getBackends } from '../../../../test/support/backends.js';

const MESSAGES = 1000;
const PARTITIONS = 3;
const CONSUME_TIMEOUT_MS = 60_000;

describe('local kafka broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = `test.local-kafka.${randomUUID()}`;
  const groupId = `test-local-kafka-${randomUUID()}`;

  before(async () => {
    const backends = await getBackends();
    kafka = new Kafka({ clientId: 'local-kafka-test', brokers: backends.kafkaBrokers, logLevel: logLevel.WARN });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  test('creates a topic with 3 partitions', async () => {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    assert.equal(created, true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics[0]?.partitions.length, PARTITIONS);
  });

  test('group reads all 1000 produced messages and ends with lag 0', async () => {
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({ key: `item-${i}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const seen = new Set<string>();
    const perPartition = new Map<number, number>();
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${MESSAGES} messages in ${CONSUME_TIMEOUT_MS} ms`)), CONSUME_TIMEOUT_MS);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.add(String(message.key));
          perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
          if (seen.size === MESSAGES) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    // Commits happen on the consumer's interval; stopping commits the last offsets.
    await consumer.stop();
    await consumer.disconnect();

    assert.equal(seen.size, MESSAGES);
    assert.equal(perPartition.size, PARTITIONS, 'messages with distinct keys spread over all partitions');

    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.ok(committed, 'the group has committed offsets for the topic');
    let lag = 0;
    let total = 0;
    for (const end of ends) {
      const offset = committed.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      total += Number(end.high);
      lag += Number(end.high) - Math.max(0, Number(offset));
    }
    assert.equal(total, MESSAGES);
    assert.equal(lag, 0);
  });
});
