import { Webhook as StandardWebhook, WebhookVerificationError as StandardVerificationError } from "standardwebhooks";

import { path, type RequestOptions } from "../core/api-client.js";
import { WebhookVerificationError } from "../core/errors.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Deleted,
  Webhook,
  WebhookCreateParams,
  WebhookDelivery,
  WebhookDeliveryListParams,
  WebhookEvent,
  WebhookListParams,
  WebhookRotatedSecret,
  WebhookUpdateParams,
  WebhookWithSecret,
} from "../types.js";
import { APIResource } from "./resource.js";

/** What FluenzR POSTs to your endpoint (the events outbox's wire form). */
export interface WebhookPayload<Data = Record<string, unknown>> {
  /** The event's id, `evt_…`; the same as the `webhook-id` header, and stable across redeliveries. */
  id: string;
  type: WebhookEvent;
  /** When the event happened (RFC 3339). */
  createdAt: string;
  data: Data;
}

/**
 * Request headers as any framework hands them: a Fetch `Headers`, or a plain object such as Node's
 * `IncomingHttpHeaders` (names matched case-insensitively).
 */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** HTTPS endpoints FluenzR calls when events happen (tag `webhooks`), and their signature checks. */
export class Webhooks extends APIResource {
  /** `listWebhooks` (secrets are never listed). */
  list(params: WebhookListParams = {}, options?: RequestOptions): PagePromise<Webhook> {
    return this._client.requestPage<Webhook>("/webhooks", params, options);
  }

  /** `createWebhook`: the only response that includes the signing `secret` (`whsec_…`); store it. */
  create(body: WebhookCreateParams, options?: RequestOptions): Promise<WebhookWithSecret> {
    return this._client.request({ method: "POST", path: "/webhooks", body, options });
  }

  /** `deleteWebhook`. */
  delete(webhookId: string, options?: RequestOptions): Promise<Deleted> {
    return this._client.request({ method: "DELETE", path: path`/webhooks/${webhookId}`, options });
  }

  /** `getWebhook` (never its secret); `disabledReason` says why FluenzR disabled it. */
  get(webhookId: string, options?: RequestOptions): Promise<Webhook> {
    return this._client.request({ method: "GET", path: path`/webhooks/${webhookId}`, options });
  }

  /** `updateWebhook`: changes only the fields given; `active: true` re-enables a disabled endpoint. */
  update(webhookId: string, body: WebhookUpdateParams, options?: RequestOptions): Promise<Webhook> {
    return this._client.request({ method: "PUT", path: path`/webhooks/${webhookId}`, body, options });
  }

  /** `testWebhook`: sends a `webhook.test` event now; the delivery with its one attempt. */
  test(webhookId: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this._client.request({ method: "POST", path: path`/webhooks/${webhookId}/test`, options });
  }

  /** `rotateWebhookSecret`: a new secret, shown once; the old one keeps signing beside it for 24 hours. */
  rotateSecret(webhookId: string, options?: RequestOptions): Promise<WebhookRotatedSecret> {
    return this._client.request({ method: "POST", path: path`/webhooks/${webhookId}/rotate-secret`, options });
  }

  /**
   * `listWebhookDeliveries`: each delivery with its attempts (status, duration, start of the answer). A
   * delivered or failed one is kept 30 days after its last attempt, a pending one until it finishes.
   */
  listDeliveries(
    webhookId: string,
    params: WebhookDeliveryListParams = {},
    options?: RequestOptions,
  ): PagePromise<WebhookDelivery> {
    return this._client.requestPage<WebhookDelivery>(path`/webhooks/${webhookId}/deliveries`, params, options);
  }

  /**
   * `retryWebhookDelivery`: sends the delivery again, now, with the same `webhook-id` (a 404 once it is no
   * longer listed: 30 days after the last attempt of a finished delivery).
   */
  retryDelivery(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<WebhookDelivery> {
    const target = path`/webhooks/${webhookId}/deliveries/${deliveryId}/retry`;
    return this._client.request({ method: "POST", path: target, options });
  }

  /**
   * Checks a delivery's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
   * `webhook-signature`; timestamps more than 5 minutes away are refused). `payload` is the raw body,
   * exactly as received. Throws `WebhookVerificationError`.
   */
  verify(payload: string | Uint8Array, headers: WebhookHeaders, secret: string): void {
    this.unwrap(payload, headers, secret);
  }

  /** `verify`, then the parsed payload. Throws `WebhookVerificationError`. */
  unwrap<Data = Record<string, unknown>>(
    payload: string | Uint8Array,
    headers: WebhookHeaders,
    secret: string,
  ): WebhookPayload<Data> {
    const body = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
    try {
      return new StandardWebhook(secret).verify(body, signatureHeaders(headers)) as WebhookPayload<Data>;
    } catch (error) {
      if (error instanceof StandardVerificationError || error instanceof SyntaxError) {
        throw new WebhookVerificationError(error.message);
      }
      throw new WebhookVerificationError(error instanceof Error ? error.message : "Invalid webhook");
    }
  }
}

function signatureHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: Iterable<[string, string | string[] | undefined]> =
    typeof Headers !== "undefined" && headers instanceof Headers ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (lower.startsWith("webhook-") && value !== undefined) {
      out[lower] = Array.isArray(value) ? value.join(" ") : value;
    }
  }
  return out;
}
