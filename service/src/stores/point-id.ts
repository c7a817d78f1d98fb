/**
 * Qdrant point ids. Qdrant accepts only unsigned integers and UUIDs as point
 * ids, so every other item id maps to a name-based UUID (version 5, RFC 9562)
 * in a fixed namespace: the same item id always gives the same point id.
 */
import crypto from 'node:crypto';

/** Namespace UUID of Soma item ids; changing it would orphan every stored point. */
export const POINT_ID_NAMESPACE = '5b0f7a63-7c1e-4e64-9a38-0d6f3c2b8e51';

/**
 * Lower-case hyphenated UUIDs only. Qdrant stores a UUID point id in this form,
 * so an upper-case id passed through would share a point with its lower-case
 * twin while Postgres keeps two rows; those ids take the v5 path instead.
 */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Canonical unsigned integers only: "007" is not 7, so it must not share 7's point. */
const UNSIGNED_INTEGER_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

type OneShotDigest = (algorithm: string, data: Buffer, outputEncoding: 'buffer') => Buffer;

/** crypto.hash exists from Node.js 20.12 and 21.7 on and skips the Hash object that createHash builds. */
const oneShotDigest = (crypto as { hash?: OneShotDigest }).hash;

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

const DEFAULT_NAMESPACE_BYTES = uuidBytes(POINT_ID_NAMESPACE);

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function sha1(namespaceBytes: Buffer, name: string): Buffer {
  if (oneShotDigest === undefined) return crypto.createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  const nameLength = Buffer.byteLength(name);
  const input = Buffer.allocUnsafe(16 + nameLength);
  namespaceBytes.copy(input, 0, 0, 16);
  input.write(name, 16, nameLength, 'utf8');
  return oneShotDigest('sha1', input, 'buffer');
}

/** Computes the version 5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string = POINT_ID_NAMESPACE): string {
  const bytes = sha1(namespace === POINT_ID_NAMESPACE ? DEFAULT_NAMESPACE_BYTES : uuidBytes(namespace), name);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/** Version digit of a hyphenated UUID string: the first digit of its third group. */
const UUID_VERSION_INDEX = 14;

/**
 * Maps an item id to its Qdrant point id: unsigned integers up to
 * Number.MAX_SAFE_INTEGER become numbers, lower-case UUIDs of any version but 5
 * stay as they are, and anything else becomes uuidV5(id). Version 5 UUIDs take
 * the v5 path too. Otherwise an item whose id is the v5 UUID of another item's
 * id would overwrite that item's point while Postgres keeps both rows.
 */
export function toPointId(id: string): string | number {
  if (UNSIGNED_INTEGER_PATTERN.test(id)) {
    const value = Number(id);
    if (Number.isSafeInteger(value)) return value;
  }
  if (UUID_PATTERN.test(id) && id[UUID_VERSION_INDEX] !== '5') return id;
  return uuidV5(id);
}
