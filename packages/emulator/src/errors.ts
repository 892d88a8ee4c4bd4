import type { components } from "@extendkit/core";
import { ProcessingError } from "./processors/errors.js";

// The codes the emulator sends: only known ones (the spec's ErrorCode is an open string).
type ErrorCode = components["schemas"]["KnownErrorCode"];

/** An error answer of the emulated API. Thrown by handlers, rendered by the server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly retryable = status === 429 || status >= 500,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The body every error answer carries: the union of the documented error shapes. */
  body(requestId: string) {
    return {
      success: false as const,
      error: this.message,
      code: this.code,
      message: this.message,
      requestId,
      retryable: this.retryable,
    };
  }
}

export const badRequest = (message: string, code: ErrorCode = "INVALID_REQUEST") =>
  new ApiError(400, code, message);

export const notFound = (what: string, id: string) =>
  new ApiError(404, "NOT_FOUND", `${what} ${JSON.stringify(id)} was not found.`);

/**
 * The answer for anything a handler threw: an `ApiError` as is, a document problem with its
 * code and status (such as 400 `UNABLE_TO_DOWNLOAD_FILE`), anything else a 500.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ProcessingError)
    return new ApiError(error.status, error.code, error.message, false);
  return new ApiError(500, "INTERNAL_ERROR", `The emulator failed: ${(error as Error)?.message}`);
}
