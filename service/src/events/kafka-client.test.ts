import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kafkaSecurityOptions } from './kafka-client.js';

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
