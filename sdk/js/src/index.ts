export { FluenzrClient } from "./client.js";
export { FluenzrClient as default } from "./client.js";
export type { ClientOptions, Fetch, RequestOptions } from "./core/api-client.js";
export { DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from "./core/api-client.js";
export {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  BadRequestError as ValidationError,
  ConflictError,
  FluenzrError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  WebhookVerificationError,
} from "./core/errors.js";
export { Page, PagePromise, type PageInfo } from "./core/pagination.js";
export type { RateLimit } from "./core/rate-limit.js";
export type { WebhookHeaders, WebhookPayload } from "./resources/webhooks.js";
export { Campaigns } from "./resources/campaigns.js";
export { Contacts } from "./resources/contacts.js";
export { EmailAccounts } from "./resources/email-accounts.js";
export { Groups } from "./resources/groups.js";
export { Webhooks } from "./resources/webhooks.js";
export { Suppressions } from "./resources/suppressions.js";
export type * from "./types.js";
export { VERSION } from "./version.js";
