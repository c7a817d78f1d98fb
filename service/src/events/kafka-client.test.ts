import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import { kafkaLogLevel, kafkaSecurityOptions } from './kafka-client.js';

test('kafka security off by default', () => {
  assert.deepEqual(kafkaSecurityOptions({}), {});
});

test('kafka security reads the CA file and sets SASL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-kafka-ca-'));
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const options = kafkaSecurityOptions({
    ssl: true,
    sslCaFile: caFile,
    saslMechanism: 'scram-sha-256',
    saslUsername: 'soma',
    saslPassword: 'secret',
  });
  assert.deepEqual(options.ssl, { ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'] });
  assert.deepEqual(options.sasl, { mechanism: 'scram-sha-256', username: 'soma', password: 'secret' });
});

test('kafka security uses system CAs without a CA file', () => {
  assert.equal(kafkaSecurityOptions({ ssl: true }).ssl, true);
});

test('kafkajs start-up errors are downgraded, other errors are not', () => {
  const leader = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response Metadata(key: 3, version: 6)', {
    error: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
  });
  assert.deepEqual(leader, { level: 'warn', errorType: 'LEADER_NOT_AVAILABLE' });

  const coordinator = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response FindCoordinator(key: 10, version: 2)', {
    error: 'The group coordinator is not available',
  });
  assert.deepEqual(coordinator, { level: 'warn', errorType: 'GROUP_COORDINATOR_NOT_AVAILABLE' });

  const createTopics = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)', { error: 'Topic creation errors' });
  assert.equal(createTopics.level, 'debug');

  const authorization = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response Produce(key: 0, version: 7)', {
    error: 'Not authorized to access topics: [Topic authorization failed]',
  });
  assert.deepEqual(authorization, { level: 'error', errorType: 'TOPIC_AUTHORIZATION_FAILED' });

  assert.equal(kafkaLogLevel(KafkaLogLevel.ERROR, 'Connection error: connect ECONNREFUSED', {}).level, 'error');
  assert.equal(kafkaLogLevel(KafkaLogLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees', {}).level, 'debug');
  assert.equal(kafkaLogLevel(KafkaLogLevel.WARN, 'Crash: KafkaJSNumberOfRetriesExceeded', {}).level, 'warn');
});

test('kafkajs rebalance errors are downgraded in group responses only', () => {
  const rebalancing = 'The group is rebalancing, so a rejoin is needed';
  for (const api of ['JoinGroup(key: 11, version: 5)', 'SyncGroup(key: 14, version: 3)', 'Heartbeat(key: 12, version: 3)']) {
    assert.deepEqual(kafkaLogLevel(KafkaLogLevel.ERROR, `Response ${api}`, { error: rebalancing }), { level: 'warn', errorType: 'REBALANCE_IN_PROGRESS' }, api);
  }

  const memberIdRequired = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response JoinGroup(key: 11, version: 5)', {
    error: 'The group member needs to have a valid member id before actually entering a consumer group',
  });
  assert.deepEqual(memberIdRequired, { level: 'warn', errorType: 'MEMBER_ID_REQUIRED' });

  const unknownMember = 'The coordinator is not aware of this member';
  assert.deepEqual(kafkaLogLevel(KafkaLogLevel.ERROR, 'Response SyncGroup(key: 14, version: 3)', { error: unknownMember }), {
    level: 'warn',
    errorType: 'UNKNOWN_MEMBER_ID',
  });

  const notCoordinator = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', {
    error: 'This is not the correct coordinator for this group',
  });
  assert.deepEqual(notCoordinator, { level: 'warn', errorType: 'NOT_COORDINATOR_FOR_GROUP' });

  const loading = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response OffsetFetch(key: 9, version: 4)', {
    error: 'The coordinator is loading and hence can\'t process requests for this group',
  });
  assert.deepEqual(loading, { level: 'warn', errorType: 'GROUP_LOAD_IN_PROGRESS' });
});

test('kafkajs lost commits and record errors stay errors', () => {
  const lostCommit = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', {
    error: 'The coordinator is not aware of this member',
  });
  assert.deepEqual(lostCommit, { level: 'error', errorType: 'UNKNOWN_MEMBER_ID' });

  const staleCommit = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', {
    error: 'Specified group generation id is not valid',
  });
  assert.deepEqual(staleCommit, { level: 'error', errorType: 'ILLEGAL_GENERATION' });

  const rebalanceInProduce = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response Produce(key: 0, version: 7)', {
    error: 'The group is rebalancing, so a rejoin is needed',
  });
  assert.equal(rebalanceInProduce.level, 'error');

  const tooLarge = kafkaLogLevel(KafkaLogLevel.ERROR, 'Response Produce(key: 0, version: 7)', {
    error: 'The request included a message larger than the max message size the server will accept',
  });
  assert.deepEqual(tooLarge, { level: 'error', errorType: 'MESSAGE_TOO_LARGE' });
});
