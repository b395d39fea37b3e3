import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type { Suppression, SuppressionListParams, SuppressionCreateParams, SuppressionsAdded } from "../types.js";
import { APIResource } from "./resource.js";

/**
 * The suppression list (tag `suppressions`): addresses and whole domains no campaign of the account emails.
 * An entry is an address (`ada@example.com`) or a domain (`@example.com`: exactly that domain, not its
 * subdomains).
 */
export class Suppressions extends APIResource {
  /** `listSuppressions`: newest first; `reason` filters, `search` matches part of an entry. */
  list(params: SuppressionListParams = {}, options?: RequestOptions): PagePromise<Suppression> {
    return this._client.requestPage<Suppression>("/suppressions", params, options);
  }

  /**
   * `createSuppressions`: `{ emails, domains, detail }` (1 to 1,000 entries together), reason `manual`.
   * Resolves to what was added and what was already there (an existing entry keeps its reason).
   */
  create(body: SuppressionCreateParams, options?: RequestOptions): Promise<SuppressionsAdded> {
    return this._client.request({ method: "POST", path: "/suppressions", body, options });
  }

  /**
   * `deleteSuppression`: removes a `manual` or `bounced` entry, an address or a domain as `@example.com`
   * (or `example.com`); resolves with no value (204). The entry is sent as one percent-encoded path segment
   * (a `/` in a local part included). Rejects with `NotFoundError` when it is not on the list, and with
   * `ConflictError` (`INVALID_STATE`) for an `unsubscribed` entry, which stays: only the recipient can opt
   * in again (the error's details say when, how and from which campaign).
   */
  async delete(entry: string, options?: RequestOptions): Promise<void> {
    await this._client.request<undefined>({ method: "DELETE", path: path`/suppressions/${entry}`, options });
  }
}
