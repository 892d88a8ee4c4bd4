import type { IncomingMessage } from "node:http";
import type { operations } from "@extendkit/core";
import type { Context } from "../context.js";
import type { OperationId } from "../router.js";

type Op<K extends OperationId> = operations[K];

/** The JSON request body of an operation, as the generated types describe it. */
export type JsonBody<K extends OperationId> =
  Op<K> extends { requestBody: { content: { "application/json": infer B } } } ? B : undefined;
/** The query parameters of an operation (validated and coerced from the spec). */
export type Query<K extends OperationId> = Op<K>["parameters"] extends { query?: infer Q }
  ? NonNullable<Q>
  : never;
/** The 200 answer of an operation: a handler that returns anything else does not compile. */
export type Success<K extends OperationId> = Op<K>["responses"] extends {
  200: { content: { "application/json": infer R } };
}
  ? R
  : never;

export interface HandlerRequest<K extends OperationId> {
  ctx: Context;
  params: Record<string, string>;
  query: Query<K>;
  body: JsonBody<K>;
  req: IncomingMessage;
  requestId: string;
  /** Headers to add to the answer. */
  headers: Record<string, string>;
}

export type Handler<K extends OperationId> = (
  request: HandlerRequest<K>,
) => Success<K> | Promise<Success<K>>;

/** One handler per operation of the spec: a missing or extra one is a compile error. */
export type Handlers = { [K in OperationId]: Handler<K> };
