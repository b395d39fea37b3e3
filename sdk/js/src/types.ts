/**
 * Request and response types of every operation, read from the types generated from the contract
 * (`src/generated/openapi.ts`): nothing here restates a field by hand.
 */
import type { components, operations } from "./generated/openapi.js";

export type { components, operations, paths } from "./generated/openapi.js";

/** An operation of the contract, by its public operationId. */
export type OperationId = keyof operations;

type JsonContent<T> = T extends { content: { "application/json": infer Body } } ? Body : never;
type SuccessStatus = 200 | 201 | 202;

/** The JSON request body an operation takes. */
export type RequestBody<Op extends OperationId> = operations[Op] extends { requestBody?: infer Body }
  ? JsonContent<NonNullable<Body>>
  : never;

/** The query parameters an operation takes (every one optional unless the contract says otherwise). */
export type QueryParams<Op extends OperationId> = operations[Op]["parameters"] extends { query?: infer Query }
  ? NonNullable<Query>
  : never;

/** The success envelope of an operation. */
export type SuccessEnvelope<Op extends OperationId> = JsonContent<
  operations[Op]["responses"][Extract<keyof operations[Op]["responses"], SuccessStatus>]
>;

/** What a method resolves to: the envelope's `data`. */
export type ResponseData<Op extends OperationId> = SuccessEnvelope<Op> extends { data: infer Data } ? Data : never;

/** One item of a list operation's `data`. */
export type ListItem<Op extends OperationId> = ResponseData<Op> extends ReadonlyArray<infer Item> ? Item : never;

type Schemas = components["schemas"];

export type Contact = Schemas["Contact"];
export type ContactCreateParams = RequestBody<"createContact">;
export type ContactUpdateParams = RequestBody<"updateContact">;
export type ContactListParams = QueryParams<"listContacts">;
export type ContactBatchParams = RequestBody<"createContactsBatch">;
export type ContactBatch = ResponseData<"createContactsBatch">;
export type ContactBatchMode = Schemas["ContactBatchMode"];
export type ContactBatchRowResult = Schemas["ContactBatchRowResult"];

export type Group = Schemas["Group"];
export type GroupCreateParams = RequestBody<"createGroup">;
export type GroupUpdateParams = RequestBody<"updateGroup">;
export type GroupListParams = QueryParams<"listGroups">;
export type GroupAddContactsParams = RequestBody<"addGroupContacts">;
export type GroupMembership = ResponseData<"addGroupContacts">;

export type EmailAccount = Schemas["EmailAccount"];
export type EmailAccountStatus = Schemas["EmailAccountStatus"];
/** Where replies and bounce reports are read (IMAP); `null` on an account without IMAP settings. */
export type ImapSettings = Schemas["ImapSettings"];
export type ImapStatus = Schemas["ImapStatus"];
/** A webhook's `email.*` event data; `reply` (subject, snippet, from) only in `email.replied`. */
export type EmailEvent = Schemas["EmailEvent"];
export type EmailAccountCreateParams = RequestBody<"createEmailAccount">;
export type EmailAccountUpdateParams = RequestBody<"updateEmailAccount">;
export type EmailAccountListParams = QueryParams<"listEmailAccounts">;

export type Campaign = Schemas["Campaign"];
export type CampaignStatus = Schemas["CampaignStatus"];
export type CampaignCreateParams = RequestBody<"createCampaign">;
export type CampaignUpdateParams = RequestBody<"updateCampaign">;
export type CampaignListParams = QueryParams<"listCampaigns">;
export type CampaignAddContactsParams = RequestBody<"addCampaignContacts">;
export type CampaignMembership = ResponseData<"addCampaignContacts">;
export type CampaignStats = ResponseData<"getCampaignStats">;
export type Lead = Schemas["Lead"];
export type LeadStatus = Schemas["LeadStatus"];
export type CampaignContactsListParams = QueryParams<"listCampaignContacts">;
export type SendingStatus = ResponseData<"getCampaignSendingStatus">;

export type Webhook = Schemas["Webhook"];
export type WebhookWithSecret = ResponseData<"createWebhook">;
export type WebhookEvent = Schemas["WebhookEvent"];
export type WebhookCreateParams = RequestBody<"createWebhook">;
export type WebhookListParams = QueryParams<"listWebhooks">;
export type WebhookUpdateParams = RequestBody<"updateWebhook">;
export type WebhookRotatedSecret = ResponseData<"rotateWebhookSecret">;
export type WebhookDelivery = Schemas["WebhookDelivery"];
export type WebhookAttempt = Schemas["WebhookAttempt"];
export type WebhookDeliveryListParams = QueryParams<"listWebhookDeliveries">;

export type Suppression = Schemas["Suppression"];
export type SuppressionReason = Schemas["SuppressionReason"];
export type SuppressionListParams = QueryParams<"listSuppressions">;
export type SuppressionCreateParams = RequestBody<"createSuppressions">;
export type SuppressionsAdded = ResponseData<"createSuppressions">;

export type Deleted = Schemas["Deleted"];
export type Health = ResponseData<"getHealth">;
export type ApiIndex = ResponseData<"getApiIndex">;
export type PageMeta = Schemas["PageMeta"];
export type ErrorCode = Schemas["ErrorEnvelope"]["error"]["code"];
