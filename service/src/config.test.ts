import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KAFKA_MAX_MESSAGE_BYTES, DEFAULT_MAX_BULK_ITEMS, describeConfig, loadConfig } from './config.js';

const BASE = { SOMA_KAFKA_BROKERS: '127.0.0.1:9092', SOMA_POSTGRES_URL: 'postgres://u:secret@h/db', SOMA_QDRANT_URL: 'http://q:6333' };

test('config defaults', () => {
  const config = loadConfig(BASE);
  assert.equal(config.role, 'all');
  assert.equal(config.port, 9595);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.eventingEnabled, true);
  assert.equal(config.kafkaTopic, 'memory.events');
  assert.equal(config.kafkaDlqTopic, 'memory.events.dlq');
  assert.equal(config.kvGroup, 'soma-kv-writer');
  assert.equal(config.vectorGroup, 'soma-vector-indexer');
  assert.equal(config.vectorSize, 128);
  assert.equal(config.defaultNamespace, 'api_ns');
  assert.equal(config.maxBulkItems, DEFAULT_MAX_BULK_ITEMS);
  assert.equal(config.kafkaMaxMessageBytes, DEFAULT_KAFKA_MAX_MESSAGE_BYTES);
  assert.deepEqual(config.consumers, ['kv', 'vector']);
  assert.ok(Object.isFrozen(config));
});

test('config reads lists and the EVENTING_ENABLED alias', () => {
  const config = loadConfig({ ...BASE, SOMA_KAFKA_BROKERS: 'a:1, b:2', SOMA_CONSUMERS: 'vector', EVENTING_ENABLED: 'false' });
  assert.deepEqual(config.kafkaBrokers, ['a:1', 'b:2']);
  assert.deepEqual(config.consumers, ['vector']);
  assert.equal(config.eventingEnabled, false);
  assert.equal(loadConfig({ ...BASE, EVENTING_ENABLED: 'false', SOMA_EVENTING_ENABLED: 'true' }).eventingEnabled, true);
});

test('config kafka max message bytes', () => {
  assert.ok(DEFAULT_KAFKA_MAX_MESSAGE_BYTES + 61 < 1_048_576, 'a record batch of one default-sized record fits a 1 MiB broker limit');
  assert.equal(loadConfig({ ...BASE, SOMA_KAFKA_MAX_MESSAGE_BYTES: '2000000' }).kafkaMaxMessageBytes, 2_000_000);
});

test('config ignores variables outside the allow-list', () => {
  const config = loadConfig({ ...BASE, SOMA_UNKNOWN: 'x', PORT: '1' });
  assert.equal(config.port, 9595);
});

test('config rejects invalid values naming the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ SOMA_PORT: 'abc' }, /SOMA_PORT="abc" is invalid: expected a non-negative integer/],
    [{ SOMA_PORT: '70000' }, /SOMA_PORT="70000" is invalid/],
    [{ SOMA_ROLE: 'worker' }, /SOMA_ROLE="worker" is invalid/],
    [{ SOMA_CONSUMERS: 'kv,graph' }, /SOMA_CONSUMERS="kv,graph" is invalid/],
    [{ SOMA_EVENTING_ENABLED: 'maybe' }, /SOMA_EVENTING_ENABLED="maybe" is invalid: expected true or false/],
    [{ SOMA_KAFKA_BROKERS: '' }, /SOMA_KAFKA_BROKERS=\(unset\) is invalid: evented mode needs brokers/],
    [{ SOMA_DEFAULT_NAMESPACE: 'a/b' }, /SOMA_DEFAULT_NAMESPACE="a\/b" is invalid/],
    [{ SOMA_KAFKA_DLQ_TOPIC: 'memory.events' }, /must differ from SOMA_KAFKA_TOPIC/],
    [{ SOMA_KAFKA_MAX_MESSAGE_BYTES: '100' }, /SOMA_KAFKA_MAX_MESSAGE_BYTES="100" is invalid: must be >= 1024/],
    [{ SOMA_KAFKA_MAX_MESSAGE_BYTES: '1MB' }, /SOMA_KAFKA_MAX_MESSAGE_BYTES="1MB" is invalid: expected a non-negative integer/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig({ ...BASE, ...env }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SOMA_ERR_CONFIG_INVALID');
      assert.match(error.message, message);
      return true;
    });
  }
});

test('config needs the stores the role writes to', () => {
  assert.throws(() => loadConfig({ SOMA_KAFKA_BROKERS: 'a:1' }), /SOMA_POSTGRES_URL/);
  assert.doesNotThrow(() => loadConfig({ SOMA_KAFKA_BROKERS: 'a:1', SOMA_ROLE: 'api' }));
  assert.throws(() => loadConfig({ SOMA_ROLE: 'consumer', SOMA_EVENTING_ENABLED: 'false', ...BASE }), /consumer role needs/);
});

test('config description hides secrets', () => {
  const config = loadConfig({ ...BASE, SOMA_API_TOKEN: 'tok-123', SOMA_QDRANT_API_KEY: 'key-456' });
  const text = JSON.stringify(describeConfig(config));
  assert.doesNotMatch(text, /tok-123|key-456|secret/);
  assert.throws(() => loadConfig({ ...BASE, SOMA_API_TOKEN: ' ', SOMA_PORT: 'x' }), (error: Error) => !/tok/.test(error.message));
});

test('config reads Kafka TLS and SASL settings', () => {
  const config = loadConfig({
    ...BASE,
    SOMA_KAFKA_SSL: 'true',
    SOMA_KAFKA_SSL_CA_FILE: '/etc/soma/tls/kafka/ca.crt',
    SOMA_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    SOMA_KAFKA_SASL_USERNAME: 'soma',
    SOMA_KAFKA_SASL_PASSWORD: 'pw-789',
  });
  assert.equal(config.kafkaSsl, true);
  assert.equal(config.kafkaSslCaFile, '/etc/soma/tls/kafka/ca.crt');
  assert.equal(config.kafkaSaslMechanism, 'scram-sha-512');
  assert.equal(config.kafkaSaslUsername, 'soma');
  assert.doesNotMatch(JSON.stringify(describeConfig(config)), /pw-789/);
  assert.equal(loadConfig(BASE).kafkaSsl, false);
});

test('config rejects incomplete Kafka security settings', () => {
  assert.throws(
    () => loadConfig({ ...BASE, SOMA_KAFKA_SASL_MECHANISM: 'plain', SOMA_KAFKA_SASL_USERNAME: 'soma' }),
    /SOMA_KAFKA_SASL_PASSWORD=\(unset\) is invalid: SASL needs the mechanism, the username and the password together/,
  );
  assert.throws(
    () => loadConfig({ ...BASE, SOMA_KAFKA_SASL_MECHANISM: 'gssapi', SOMA_KAFKA_SASL_USERNAME: 'a', SOMA_KAFKA_SASL_PASSWORD: 'b' }),
    /SOMA_KAFKA_SASL_MECHANISM="gssapi" is invalid/,
  );
  assert.throws(
    () => loadConfig({ ...BASE, SOMA_KAFKA_SSL_CA_FILE: '/ca.crt' }),
    /set SOMA_KAFKA_SSL=true too/,
  );
});
