/**
 * What a query answers, as far as this package reads it: `pg`'s `QueryResult` and those of
 * pg-compatible drivers fit.
 */
export interface QueryResultLike {
  /** The rows the statement returned. */
  rows: unknown[];
  /** How many rows it inserted, updated, deleted or returned. */
  rowCount: number | null;
}

/**
 * The one method this package calls on your database handle: a `pg.Pool`, a `pg.Client`, a
 * checked-out `PoolClient`, or a pg-compatible driver's pool (`@neondatabase/serverless`).
 * Every call the package makes is a single statement, so a pool may run each one on a
 * different connection and nothing needs `connect()`.
 */
export interface Queryable {
  /** Runs one statement with `$1`-style parameters. */
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}
