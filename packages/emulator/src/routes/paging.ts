import type { Context } from "../context.js";
import type { IndexFields, Kind, ListQuery, Stored } from "../store.js";

interface PageQuery {
  sortBy?: "updatedAt" | "createdAt";
  sortDir?: "asc" | "desc";
  nextPageToken?: string;
  maxPageSize?: number;
}

/** One page of a kind, mapped to its list item shape. */
export function page<K extends Kind, T, I = Record<string, unknown>>(
  ctx: Context,
  kind: K,
  query: PageQuery & {
    filters?: Partial<Record<keyof IndexFields, string | undefined>>;
    nameContains?: string;
  },
  map: (stored: Stored<K, I>) => T,
): { items: T[]; nextPageToken?: string } {
  const list: ListQuery = {
    filters: query.filters,
    nameContains: query.nameContains,
    sortBy: query.sortBy,
    sortDir: query.sortDir,
    maxPageSize: query.maxPageSize,
    nextPageToken: query.nextPageToken,
  };
  const result = ctx.store.listStored<K, I>(kind, list);
  return {
    items: result.items.map(map),
    ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
  };
}
