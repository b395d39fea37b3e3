/** The `X-RateLimit-*` figures of a response (the contract's "Rate limits"). */
export interface RateLimit {
  /** Requests allowed per window (one minute). */
  limit: number;
  /** Requests left in the current window. */
  remaining: number;
  /** When the window frees up again, as Unix epoch seconds. */
  reset: number;
}

/** The figures of these headers, or `undefined` when a response lacks them. */
export function rateLimitFrom(headers: Headers): RateLimit | undefined {
  const limit = Number(headers.get("x-ratelimit-limit") ?? Number.NaN);
  const remaining = Number(headers.get("x-ratelimit-remaining") ?? Number.NaN);
  const reset = Number(headers.get("x-ratelimit-reset") ?? Number.NaN);
  if (![limit, remaining, reset].every(Number.isFinite)) return undefined;
  return { limit, remaining, reset };
}
