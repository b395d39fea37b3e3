import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Contact,
  ContactCreateParams,
  ContactListParams,
  ContactUpdateParams,
  Deleted,
} from "../types.js";
import { APIResource } from "./resource.js";

/** The people you email (tag `contacts`). */
export class Contacts extends APIResource {
  /** `listContacts`: a page of contacts; filters `email` (substring) and `group`, `sort`/`order`. */
  list(params: ContactListParams = {}, options?: RequestOptions): PagePromise<Contact> {
    return this._client.requestPage<Contact>("/contacts", params, options);
  }

  /** `createContact`: 409 `CONFLICT` when a contact with that email exists. */
  create(body: ContactCreateParams, options?: RequestOptions): Promise<Contact> {
    return this._client.request({ method: "POST", path: "/contacts", body, options });
  }

  /** `getContact`: 404 `NOT_FOUND` when it is not in your account. */
  get(contactId: string, options?: RequestOptions): Promise<Contact> {
    return this._client.request({ method: "GET", path: path`/contacts/${contactId}`, options });
  }

  /** `updateContact`: changes only the fields given. */
  update(contactId: string, body: ContactUpdateParams, options?: RequestOptions): Promise<Contact> {
    return this._client.request({ method: "PUT", path: path`/contacts/${contactId}`, body, options });
  }

  /** `deleteContact`. */
  delete(contactId: string, options?: RequestOptions): Promise<Deleted> {
    return this._client.request({ method: "DELETE", path: path`/contacts/${contactId}`, options });
  }
}
