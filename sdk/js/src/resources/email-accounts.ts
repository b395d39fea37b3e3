import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Deleted,
  EmailAccount,
  EmailAccountCreateParams,
  EmailAccountListParams,
  EmailAccountUpdateParams,
} from "../types.js";
import { APIResource } from "./resource.js";

/** Your mailboxes that campaigns send from (tag `email-accounts`). */
export class EmailAccounts extends APIResource {
  /** `listEmailAccounts`. */
  list(params: EmailAccountListParams = {}, options?: RequestOptions): PagePromise<EmailAccount> {
    return this._client.requestPage<EmailAccount>("/email-accounts", params, options);
  }

  /** `createEmailAccount`: the SMTP password is stored encrypted and never returned. */
  create(body: EmailAccountCreateParams, options?: RequestOptions): Promise<EmailAccount> {
    return this._client.request({ method: "POST", path: "/email-accounts", body, options });
  }

  /** `getEmailAccount`. */
  get(emailAccountId: string, options?: RequestOptions): Promise<EmailAccount> {
    return this._client.request({ method: "GET", path: path`/email-accounts/${emailAccountId}`, options });
  }

  /** `updateEmailAccount`: changes only the fields given. */
  update(emailAccountId: string, body: EmailAccountUpdateParams, options?: RequestOptions): Promise<EmailAccount> {
    return this._client.request({ method: "PUT", path: path`/email-accounts/${emailAccountId}`, body, options });
  }

  /** `deleteEmailAccount`. */
  delete(emailAccountId: string, options?: RequestOptions): Promise<Deleted> {
    return this._client.request({ method: "DELETE", path: path`/email-accounts/${emailAccountId}`, options });
  }
}
