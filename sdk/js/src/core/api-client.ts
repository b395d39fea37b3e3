/**
 * The HTTP core every resource goes through: auth, JSON, the envelope, retries, timeouts, idempotency
 * keys and rate-limit figures. Only the platform's `fetch`, `AbortController`, `Headers` and `crypto` are
 * used, so it runs unchanged on Node 18+, Deno, Bun, browsers and edge runtimes.
 */
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  FluenzrError,
  isRecord,
} from "./errors.js";
import { Page, PagePromise, type PageInfo } from "./pagination.js";
import { rateLimitFrom, type RateLimit } from "./rate-limit.js";
import { isRetryableStatus, retryDelayMs, sleep } from "./retry.js";

export const DEFAULT_BASE_URL = "https://api.fluenzr.co/v1";
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Your API key (`fz_live_…`). Defaults to the `FLUENZR_API_KEY` environment variable where there is one. */
  apiKey?: string | undefined;
  /** Defaults to `FLUENZR_BASE_URL`, else `https://api.fluenzr.co/v1`. */
  baseURL?: string | undefined;
  /** Milliseconds one attempt may take before it is abandoned (and retried). Default 60 000. */
  timeout?: number | undefined;
  /** Retries after the first attempt, for retryable failures only. Default 2. */
  maxRetries?: number | undefined;
  /** A `fetch` implementation; defaults to the global one. */
  fetch?: Fetch | undefined;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string> | undefined;
}

/** Per-call options, the last argument of every method. */
export interface RequestOptions {
  /** Milliseconds for each attempt of this call. */
  timeout?: number | undefined;
  /** Retries for this call. */
  maxRetries?: number | undefined;
  /** Cancels the call (and its retries); the method then rejects with `APIUserAbortError`. */
  signal?: AbortSignal | undefined;
  /** For a POST: the `Idempotency-Key` to send (one is generated otherwise), reused by every retry. */
  idempotencyKey?: string | undefined;
  /** Extra headers for this call. */
  headers?: Record<string, string> | undefined;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | null | undefined | ReadonlyArray<string | number | boolean>;

interface RequestSpec {
  method: HttpMethod;
  path: string;
  query?: object | undefined;
  body?: unknown;
  options?: RequestOptions | undefined;
}

interface Envelope<Data> {
  data: Data;
  meta: PageInfo | undefined;
  response: Response;
}

export class APIClient {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly #fetch: Fetch;
  readonly #defaultHeaders: Record<string, string>;
  #rateLimit: RateLimit | undefined;
  #lastRequestId: string | undefined;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? readEnv("FLUENZR_API_KEY");
    if (!apiKey) {
      throw new FluenzrError(
        "An API key is required: new FluenzrClient({ apiKey }) or the FLUENZR_API_KEY environment variable.",
      );
    }
    const fetchImpl = options.fetch ?? (globalThis.fetch as Fetch | undefined);
    if (!fetchImpl) {
      throw new FluenzrError("No global fetch here (Node 18+ has one); pass new FluenzrClient({ fetch }).");
    }
    this.apiKey = apiKey;
    this.baseURL = (options.baseURL ?? readEnv("FLUENZR_BASE_URL") ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.#fetch = fetchImpl;
    this.#defaultHeaders = { ...options.defaultHeaders };
  }

  /** The `X-RateLimit-*` figures of the last response received, if any. */
  get rateLimit(): RateLimit | undefined {
    return this.#rateLimit;
  }

  /** The `X-Request-Id` of the last response received, if any. */
  get lastRequestId(): string | undefined {
    return this.#lastRequestId;
  }

  /** One call; resolves to the envelope's `data`. */
  async request<Data>(spec: RequestSpec): Promise<Data> {
    return (await this.requestEnvelope<Data>(spec)).data;
  }

  /** A list call: a lazy `PagePromise` over the operation's pages. */
  requestPage<Item>(path: string, query: object | undefined, options?: RequestOptions): PagePromise<Item> {
    const fetchPage = async (page: number | undefined): Promise<Page<Item>> => {
      const pageQuery = page === undefined ? query : { ...query, page };
      const { data, meta } = await this.requestEnvelope<Item[]>({ method: "GET", path, query: pageQuery, options });
      if (!Array.isArray(data) || meta === undefined) {
        throw new APIConnectionError(`GET ${path} answered without a list and its meta`);
      }
      return new Page<Item>(data, meta, (next) => fetchPage(next));
    };
    return new PagePromise<Item>(() => fetchPage(undefined));
  }

  async requestEnvelope<Data>(spec: RequestSpec): Promise<Envelope<Data>> {
    const options = spec.options ?? {};
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const idempotencyKey = spec.method === "POST" ? (options.idempotencyKey ?? newIdempotencyKey()) : undefined;
    const url = this.#url(spec.path, spec.query);
    const init = this.#init(spec, idempotencyKey);

    for (let attempt = 0; ; attempt++) {
      const retriesLeft = maxRetries - attempt;
      let response: Response;
      let body: unknown;
      try {
        ({ response, body } = await this.#attempt(url, init, options));
      } catch (error) {
        if (error instanceof APIConnectionError && retriesLeft > 0) {
          await sleep(retryDelayMs(attempt, undefined, undefined), options.signal).catch(() => {
            throw new APIUserAbortError();
          });
          continue;
        }
        throw error;
      }
      if (response.ok) {
        // 204 No Content (a delete that answers nothing): no envelope to read.
        if (response.status === 204) return { data: undefined as Data, meta: undefined, response };
        if (!isRecord(body) || !("data" in body)) {
          throw new APIConnectionError(`${spec.method} ${spec.path} answered without an envelope`);
        }
        const meta = isRecord(body["meta"]) ? (body["meta"] as unknown as PageInfo) : undefined;
        return { data: body["data"] as Data, meta, response };
      }
      if (retriesLeft > 0 && isRetryableStatus(response.status, body)) {
        await sleep(retryDelayMs(attempt, response.headers, response.status), options.signal).catch(() => {
          throw new APIUserAbortError();
        });
        continue;
      }
      throw APIError.fromResponse(response.status, body, response.headers);
    }
  }

  async #attempt(url: string, init: RequestInit, options: RequestOptions): Promise<{ response: Response; body: unknown }> {
    const userSignal = options.signal;
    if (userSignal?.aborted) throw new APIUserAbortError();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeout ?? this.timeout);
    const onAbort = (): void => controller.abort();
    userSignal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { ...init, signal: controller.signal });
      const text = await response.text();
      this.#rateLimit = rateLimitFrom(response.headers) ?? this.#rateLimit;
      this.#lastRequestId = response.headers.get("x-request-id") ?? undefined;
      return { response, body: parseJson(text) };
    } catch (error) {
      if (userSignal?.aborted) throw new APIUserAbortError();
      if (timedOut) throw new APITimeoutError();
      throw new APIConnectionError(error instanceof Error ? `Connection error: ${error.message}` : undefined, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener("abort", onAbort);
    }
  }

  #url(path: string, query: object | undefined): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {}) as [string, QueryValue][]) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
    }
    const qs = search.toString();
    return `${this.baseURL}${path}${qs ? `?${qs}` : ""}`;
  }

  #init(spec: RequestSpec, idempotencyKey: string | undefined): RequestInit {
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${this.apiKey}`,
      ...this.#defaultHeaders,
      ...spec.options?.headers,
    };
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    const init: RequestInit = { method: spec.method, headers };
    if (spec.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(spec.body);
    }
    return init;
  }
}

/** A path with each interpolated value percent-encoded: path`/contacts/${id}`. */
export function path(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((out, part, i) => out + part + (i < values.length ? encodeURIComponent(values[i] ?? "") : ""), "");
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function newIdempotencyKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return `fzsdk-${crypto.randomUUID()}`;
  return `fzsdk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
  return value ? value : undefined;
}
