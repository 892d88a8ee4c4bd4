import type { Schemas } from "@extendkit/core";

/** A document that cannot be processed; carries the brief's code and HTTP status. */
export class ProcessingError extends Error {
  constructor(
    readonly code: Schemas["KnownErrorCode"],
    message: string,
    readonly status = code === "FILE_TYPE_NOT_SUPPORTED" || code === "FILE_SIZE_TOO_LARGE"
      ? 400
      : 422,
  ) {
    super(message);
    this.name = "ProcessingError";
  }
}
