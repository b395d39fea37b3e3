/**
 * One error class per status family, each carrying the envelope's `error.code`, `message` and `details`,
 * the HTTP `status` and the server's `X-Request-Id` (shape after openai-node's `core/error.ts`).
 */

/** Every error this package throws. */
export class FluenzrError extends Error {
  override name = "FluenzrError";
}

/** What the server answered with an error envelope (`{"success": false, "error": {...}}`). */
export class APIError extends FluenzrError {
  override name = "APIError";
  /** HTTP status, or `undefined` when no response arrived (connection errors, timeouts). */
  readonly status: number | undefined;
  /** The envelope's `error.code` (`VALIDATION_ERROR`, `NOT_FOUND`…); branch on this, not on `message`. */
  readonly code: string | undefined;
  /** Structured context; for `VALIDATION_ERROR`, each offending field mapped to the reason. */
  readonly details: Record<string, unknown>;
  /** The `X-Request-Id` of the response, to quote to support. */
  readonly requestId: string | undefined;
  /** The response's headers, when there was a response. */
  readonly headers: Headers | undefined;

  constructor(
    status: number | undefined,
    code: string | undefined,
    message: string,
    details: Record<string, unknown> = {},
    headers?: Headers,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
    this.requestId = headers?.get("x-request-id") ?? undefined;
  }

  /** The error for a non-2xx response: the class of its status family. */
  static fromResponse(status: number, body: unknown, headers: Headers): APIError {
    const error = isRecord(body) && isRecord(body["error"]) ? body["error"] : undefined;
    const code = typeof error?.["code"] === "string" ? error["code"] : undefined;
    const message = typeof error?.["message"] === "string" ? error["message"] : `HTTP ${status}`;
    const details = isRecord(error?.["details"]) ? error["details"] : {};
    const Class = errorClassFor(status);
    return new Class(status, code, message, details, headers);
  }
}

/** 400 `VALIDATION_ERROR`: `details` names each offending field. */
export class BadRequestError extends APIError {
  override name = "BadRequestError";
}
/** 401 `UNAUTHORIZED`: no API key, or an unknown or revoked one. */
export class AuthenticationError extends APIError {
  override name = "AuthenticationError";
}
/** 403 `PLAN_REQUIRED` or `FORBIDDEN`. */
export class PermissionDeniedError extends APIError {
  override name = "PermissionDeniedError";
}
/** 404 `NOT_FOUND`: no such path, or no such object in your account. */
export class NotFoundError extends APIError {
  override name = "NotFoundError";
}
/** 409 `CONFLICT` or `INVALID_STATE`. */
export class ConflictError extends APIError {
  override name = "ConflictError";
}
/** 429 `RATE_LIMITED`, after the client's retries ran out. */
export class RateLimitError extends APIError {
  override name = "RateLimitError";
}
/** 5xx, after the client's retries ran out. */
export class InternalServerError extends APIError {
  override name = "InternalServerError";
}

/** No response: DNS, refused or reset connection, invalid JSON in a response. */
export class APIConnectionError extends APIError {
  override name = "APIConnectionError";
  constructor(message = "Connection error.", options?: { cause?: unknown }) {
    super(undefined, undefined, message);
    if (options?.cause !== undefined) {
      Object.defineProperty(this, "cause", { value: options.cause, enumerable: false });
    }
  }
}

/** No response within the timeout (per attempt). */
export class APITimeoutError extends APIConnectionError {
  override name = "APITimeoutError";
  constructor(message = "Request timed out.") {
    super(message);
  }
}

/** The caller's `AbortSignal` fired. */
export class APIUserAbortError extends APIError {
  override name = "APIUserAbortError";
  constructor(message = "Request was aborted.") {
    super(undefined, undefined, message);
  }
}

/** A webhook whose signature, timestamp or body does not verify. */
export class WebhookVerificationError extends FluenzrError {
  override name = "WebhookVerificationError";
}

type APIErrorClass = new (
  status: number | undefined,
  code: string | undefined,
  message: string,
  details?: Record<string, unknown>,
  headers?: Headers,
) => APIError;

function errorClassFor(status: number): APIErrorClass {
  if (status === 400 || status === 422) return BadRequestError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return InternalServerError;
  return APIError;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
