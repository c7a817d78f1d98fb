/**
 * Decodes one Kafka message into a memory event, or names why it cannot be
 * one. The rules are those of the API: the same event schema, the same
 * timestamp normalisation and the same string checks.
 */
import { inspectJson, MAX_JSON_DEPTH } from '../events/json-inspect.js';
import { describeValidationError, eventValidator, type MemoryEvent } from '../events/schema.js';
import { normalizeTimestamp } from '../events/timestamp.js';

/** Label values of soma_dead_letter_total and the `reason` field of dead-letter messages. */
export type DeadLetterReason =
  | 'empty_message'
  | 'invalid_json'
  | 'schema_violation'
  | 'invalid_timestamp'
  | 'invalid_string'
  | 'too_deep'
  | 'embedding_size'
  | 'store_rejected';

export type DecodeResult = { ok: true; event: MemoryEvent } | { ok: false; reason: DeadLetterReason; detail: string };

export function decodeEvent(value: Buffer | null): DecodeResult {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty_message', detail: 'the message has no value' };

  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'invalid_json', detail: (error as Error).message };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'schema_violation', detail: 'the message value is not a JSON object' };
  }

  const record = parsed as Record<string, unknown>;
  if (record.timestamp !== undefined) {
    const verdict = normalizeTimestamp(record.timestamp);
    if (!verdict.ok) {
      return { ok: false, reason: 'invalid_timestamp', detail: `timestamp ${JSON.stringify(record.timestamp)}: ${verdict.problem}` };
    }
    record.timestamp = verdict.value;
  }

  const validate = eventValidator();
  if (!validate(record)) return { ok: false, reason: 'schema_violation', detail: describeValidationError(validate, record) };

  const problem = inspectJson(record, 'event', MAX_JSON_DEPTH);
  if (problem?.kind === 'too-deep') {
    return { ok: false, reason: 'too_deep', detail: `${problem.path} nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  if (problem?.kind === 'invalid-string') {
    return { ok: false, reason: 'invalid_string', detail: `${problem.path} contains ${problem.problem}` };
  }
  return { ok: true, event: record };
}
