/**
 * When to retry and how long to wait: connection errors, timeouts, 408, 409 for an `Idempotency-Key`
 * still in flight, 429 and 5xx; exponential backoff with jitter, or the server's own `Retry-After` /
 * `X-RateLimit-Reset` when it gives one (after openai-node's `client.ts`).
 */
import { isRecord } from "./errors.js";

const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A server-given wait longer than this is not honoured; the error is thrown instead of sleeping. */
export const MAX_SERVER_DELAY_MS = 60_000;

/** Whether a response with this status (and body) is worth another attempt. */
export function isRetryableStatus(status: number, body: unknown): boolean {
  if (status === 408 || status === 429 || status >= 500) return true;
  if (status === 409) return isIdempotencyInFlight(body);
  return false;
}

/** The 409 the server gives while a request with the same `Idempotency-Key` is still being processed. */
function isIdempotencyInFlight(body: unknown): boolean {
  const error = isRecord(body) ? body["error"] : undefined;
  if (!isRecord(error)) return false;
  if (error["code"] === "IN_PROGRESS") return true;
  const details = error["details"];
  return isRecord(details) && "Idempotency-Key" in details;
}

/**
 * Milliseconds to wait before attempt `retriesLeft` runs out: the server's `Retry-After` (seconds or an
 * HTTP date), else `X-RateLimit-Reset` (Unix epoch seconds) on a 429, else jittered exponential backoff.
 */
export function retryDelayMs(
  attempt: number,
  headers: Headers | undefined,
  status: number | undefined,
  now: number = Date.now(),
): number {
  const fromServer = serverDelayMs(headers, status, now);
  if (fromServer !== undefined && fromServer >= 0 && fromServer <= MAX_SERVER_DELAY_MS) {
    return fromServer;
  }
  const base = Math.min(INITIAL_DELAY_MS * 2 ** attempt, MAX_DELAY_MS);
  return base * (1 - Math.random() * 0.25);
}

function serverDelayMs(headers: Headers | undefined, status: number | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const retryAfter = headers.get("retry-after");
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (retryAfter.trim() !== "" && Number.isFinite(seconds)) return seconds * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return date - now;
  }
  if (status === 429) {
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  }
  return undefined;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
