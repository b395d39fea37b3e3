import { APIClient, type ClientOptions, type RequestOptions } from "./core/api-client.js";
import { Campaigns } from "./resources/campaigns.js";
import { Contacts } from "./resources/contacts.js";
import { EmailAccounts } from "./resources/email-accounts.js";
import { Groups } from "./resources/groups.js";
import { Suppressions } from "./resources/suppressions.js";
import { Webhooks } from "./resources/webhooks.js";
import type { ApiIndex, Health } from "./types.js";

/**
 * The FluenzR API client:
 *
 *     const client = new FluenzrClient({ apiKey: process.env.FLUENZR_API_KEY });
 *     const contacts = await client.contacts.list();
 *
 * Methods resolve to the envelope's `data` and throw an `APIError` subclass for error responses.
 */
export class FluenzrClient extends APIClient {
  readonly contacts: Contacts;
  readonly groups: Groups;
  readonly emailAccounts: EmailAccounts;
  readonly campaigns: Campaigns;
  readonly webhooks: Webhooks;
  readonly suppressions: Suppressions;

  constructor(options: ClientOptions = {}) {
    super(options);
    this.contacts = new Contacts(this);
    this.groups = new Groups(this);
    this.emailAccounts = new EmailAccounts(this);
    this.campaigns = new Campaigns(this);
    this.webhooks = new Webhooks(this);
    this.suppressions = new Suppressions(this);
  }

  /** `getApiIndex`: where the documentation and the contract are (needs no key on the server's side). */
  index(options?: RequestOptions): Promise<ApiIndex> {
    return this.request({ method: "GET", path: "/", options });
  }

  /** `getHealth`: liveness and the server's version (needs no key on the server's side). */
  health(options?: RequestOptions): Promise<Health> {
    return this.request({ method: "GET", path: "/health", options });
  }
}
