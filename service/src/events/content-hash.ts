/**
 * Content hash of an item payload: SHA-256 (hex) of its canonical JSON, with
 * object keys sorted at every level, so the same content gives the same hash
 * whatever order the keys arrived in. Both writers store it, and the harness
 * compares it between the stores and with what it sent.
 */
import crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, outputEncoding: 'hex') => string;

/**
 * crypto.hash exists from Node.js 20.12 and 21.7 on. On Node.js 20.20 it hashed a
 * 100-character string in 0.58 us against 1.03 us for createHash.
 */
const oneShotHash = (crypto as { hash?: OneShotHash }).hash;

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify returns undefined for undefined and functions; JSON has no such values.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let json = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) json += ',';
      json += canonicalJson(value[index]);
    }
    return `${json}]`;
  }
  const record = value as Record<string, unknown>;
  let json = '{';
  for (const key of Object.keys(record).sort()) {
    const field = record[key];
    if (field === undefined) continue;
    if (json.length > 1) json += ',';
    json += `${JSON.stringify(key)}:${canonicalJson(field)}`;
  }
  return `${json}}`;
}

/** Returns the SHA-256 of `text` (UTF-8) in lower-case hex. */
export function sha256Hex(text: string): string {
  return oneShotHash === undefined ? crypto.createHash('sha256').update(text).digest('hex') : oneShotHash('sha256', text, 'hex');
}

export function contentHash(payload: unknown): string {
  return sha256Hex(canonicalJson(payload));
}
