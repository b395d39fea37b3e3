import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Deleted,
  Group,
  GroupAddContactsParams,
  GroupCreateParams,
  GroupListParams,
  GroupMembership,
  GroupUpdateParams,
} from "../types.js";
import { APIResource } from "./resource.js";

/** Named lists of contacts (tag `groups`). */
export class Groups extends APIResource {
  /** `listGroups`. */
  list(params: GroupListParams = {}, options?: RequestOptions): PagePromise<Group> {
    return this._client.requestPage<Group>("/groups", params, options);
  }

  /** `createGroup`. */
  create(body: GroupCreateParams, options?: RequestOptions): Promise<Group> {
    return this._client.request({ method: "POST", path: "/groups", body, options });
  }

  /** `getGroup`. */
  get(groupId: string, options?: RequestOptions): Promise<Group> {
    return this._client.request({ method: "GET", path: path`/groups/${groupId}`, options });
  }

  /** `updateGroup`: changes only the fields given. */
  update(groupId: string, body: GroupUpdateParams, options?: RequestOptions): Promise<Group> {
    return this._client.request({ method: "PUT", path: path`/groups/${groupId}`, body, options });
  }

  /** `deleteGroup` (its contacts stay). */
  delete(groupId: string, options?: RequestOptions): Promise<Deleted> {
    return this._client.request({ method: "DELETE", path: path`/groups/${groupId}`, options });
  }

  /** `addGroupContacts`: `{contactIds}`; members already in the group are not counted in `added`. */
  addContacts(groupId: string, body: GroupAddContactsParams, options?: RequestOptions): Promise<GroupMembership> {
    return this._client.request({ method: "POST", path: path`/groups/${groupId}/contacts`, body, options });
  }
}
