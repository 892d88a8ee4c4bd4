/** The schema the package's tables live in unless told otherwise. */
export const DEFAULT_SCHEMA = "extendkit";

/**
 * The schema name as a quoted SQL identifier. Names are checked rather than only quoted:
 * Postgres silently truncates identifiers past 63 bytes, so two long names could end up
 * meaning the same schema.
 */
export function quoteSchema(schema: string): string {
  if (typeof schema !== "string" || schema.length === 0 || schema.includes("\0"))
    throw new TypeError(`schema must be a non-empty string; got ${JSON.stringify(schema)}.`);
  if (new TextEncoder().encode(schema).length > 63)
    throw new TypeError(`schema "${schema}" is longer than Postgres's 63-byte identifier limit.`);
  return `"${schema.replaceAll('"', '""')}"`;
}

/**
 * The two 32-bit keys of the advisory lock that serialises migrations of one schema: a
 * constant for this package, and an FNV-1a hash of the schema name. Computed here rather
 * than with Postgres's `hashtext()`, whose output is not promised to stay the same across
 * server versions.
 */
export function migrationLockKeys(schema: string): [number, number] {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(schema)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  // "exkt" as a signed int4, then the hash as a signed int4.
  return [0x65786b74, hash | 0];
}
