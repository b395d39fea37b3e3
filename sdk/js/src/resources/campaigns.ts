import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Campaign,
  CampaignAddContactsParams,
  CampaignCreateParams,
  CampaignListParams,
  CampaignMembership,
  CampaignStats,
  CampaignUpdateParams,
  ResponseData,
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
}
