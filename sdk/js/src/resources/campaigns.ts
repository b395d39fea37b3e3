import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Campaign,
  CampaignAddContactsParams,
  CampaignContactsListParams,
  CampaignCreateParams,
  CampaignListParams,
  CampaignMembership,
  CampaignStats,
  CampaignUpdateParams,
  Lead,
  ResponseData,
  SendingStatus,
} from "../types.js";
import { APIResource } from "./resource.js";

/** Email sequences with a `draft → running ⇄ paused → completed` lifecycle (tag `campaigns`). */
export class Campaigns extends APIResource {
  /** `listCampaigns`. */
  list(params: CampaignListParams = {}, options?: RequestOptions): PagePromise<Campaign> {
    return this._client.requestPage<Campaign>("/campaigns", params, options);
  }

  /** `createCampaign`: a `draft`. */
  create(body: CampaignCreateParams, options?: RequestOptions): Promise<Campaign> {
    return this._client.request({ method: "POST", path: "/campaigns", body, options });
  }

  /** `getCampaign`. */
  get(campaignId: string, options?: RequestOptions): Promise<Campaign> {
    return this._client.request({ method: "GET", path: path`/campaigns/${campaignId}`, options });
  }

  /** `updateCampaign`: changes only the fields given; only a `draft` or `paused` campaign. */
  update(campaignId: string, body: CampaignUpdateParams, options?: RequestOptions): Promise<Campaign> {
    return this._client.request({ method: "PUT", path: path`/campaigns/${campaignId}`, body, options });
  }

  /** `startCampaign`: `running`; 409 `INVALID_STATE` for a completed one. */
  start(campaignId: string, options?: RequestOptions): Promise<ResponseData<"startCampaign">> {
    return this._client.request({ method: "POST", path: path`/campaigns/${campaignId}/start`, options });
  }

  /** `pauseCampaign`: `paused`; 409 `INVALID_STATE` unless running or paused. */
  pause(campaignId: string, options?: RequestOptions): Promise<ResponseData<"pauseCampaign">> {
    return this._client.request({ method: "POST", path: path`/campaigns/${campaignId}/pause`, options });
  }

  /** `addCampaignContacts`: exactly one of `{contactIds}` or `{groupId}`. */
  addContacts(
    campaignId: string,
    body: CampaignAddContactsParams,
    options?: RequestOptions,
  ): Promise<CampaignMembership> {
    return this._client.request({ method: "POST", path: path`/campaigns/${campaignId}/contacts`, body, options });
  }

  /** `getCampaignStats`: counts, and rates as percentages of `sent`. */
  getStats(campaignId: string, options?: RequestOptions): Promise<CampaignStats> {
    return this._client.request({ method: "GET", path: path`/campaigns/${campaignId}/stats`, options });
  }

  /** `listCampaignContacts`: the leads (each contact's place in the sequence), optionally one `status`. */
  listContacts(
    campaignId: string,
    params: CampaignContactsListParams = {},
    options?: RequestOptions,
  ): PagePromise<Lead> {
    return this._client.requestPage<Lead>(path`/campaigns/${campaignId}/contacts`, params, options);
  }

  /** `getCampaignContact`: one lead (404 when the contact is not in the campaign). */
  getContact(campaignId: string, contactId: string, options?: RequestOptions): Promise<Lead> {
    return this._client.request({ method: "GET", path: path`/campaigns/${campaignId}/contacts/${contactId}`, options });
  }

  /** `pauseCampaignContact`: this lead alone; 409 `INVALID_STATE` while its step is in flight or once it stopped. */
  pauseContact(campaignId: string, contactId: string, options?: RequestOptions): Promise<Lead> {
    return this._client.request({
      method: "POST",
      path: path`/campaigns/${campaignId}/contacts/${contactId}/pause`,
      options,
    });
  }

  /** `resumeCampaignContact`: `paused` → `active`; 409 `INVALID_STATE` once the lead stopped. */
  resumeContact(campaignId: string, contactId: string, options?: RequestOptions): Promise<Lead> {
    return this._client.request({
      method: "POST",
      path: path`/campaigns/${campaignId}/contacts/${contactId}/resume`,
      options,
    });
  }

  /** `getCampaignSendingStatus`: whether it sends now, every reason it does not, and the next send time. */
  getSendingStatus(campaignId: string, options?: RequestOptions): Promise<SendingStatus> {
    return this._client.request({ method: "GET", path: path`/campaigns/${campaignId}/sending-status`, options });
  }
}
