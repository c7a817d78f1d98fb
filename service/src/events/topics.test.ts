/**
 * Topic creation against the real Kafka of the local target: instances that
 * start together create the same topics without an error log line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryLogger } from '../../test/support/apps.js';
import { testBackends, uniqueName } from '../../test/support/backends.js';
import { createKafka } from './kafka-client.js';
import { ensureTopics } from './topics.js';

test('concurrent topic creation logs no error', async () => {
  const backends = await testBackends();
  const topic = uniqueName('events');
  const spec = { topic, dlqTopic: `${topic}.dlq`, partitions: 2 };
  const instances = [0, 1, 2].map(() => {
    const { log, lines } = memoryLogger();
    const admin = createKafka({ brokers: backends.kafkaBrokers, clientId: 'soma-topics-test', log }).admin();
    return { admin, log, lines };
  });
  try {
    await Promise.all(instances.map((instance) => instance.admin.connect()));
    await Promise.all(instances.map((instance) => ensureTopics(instance.admin, spec, instance.log)));

    const topics = await instances[0]?.admin.listTopics();
    assert.ok(topics?.includes(topic));
    assert.ok(topics?.includes(`${topic}.dlq`));
    for (const instance of instances) {
      for (const line of instance.lines()) {
        const record = JSON.parse(line) as { level: number };
        assert.ok(record.level < 50, line);
      }
    }
  } finally {
    await Promise.all(instances.map((instance) => instance.admin.disconnect()));
  }
});
