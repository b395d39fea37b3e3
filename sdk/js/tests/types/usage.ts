// Compiled with `tsc --strict --noEmit` against the built package (not run): every method with the
// contract's types, and `@ts-expect-error` lines that must stay errors.
import {
  APIError,
  FluenzrClient,
  NotFoundError,
  type Campaign,
  type CampaignStats,
  type Contact,
  type Page,
  type RateLimit,
  type WebhookPayload,
} from "@fluenzr/sdk";

export async function everyMethod(): Promise<void> {
  const client = new FluenzrClient({ apiKey: "fz_live_x", baseURL: "http://127.0.0.1:8000/v1", timeout: 5000, maxRetries: 1, fetch });
  const options = { timeout: 1000, maxRetries: 0, signal: new AbortController().signal, idempotencyKey: "k1" };

  const health: { status: "ok"; version: string } = await client.health();
  const docs: string = (await client.index()).docs;

  const contacts: Page<Contact> = await client.contacts.list({ page: 2, perPage: 50, email: "example.com", group: "grp_456", sort: "createdAt", order: "desc" });
  const total: number = contacts.total + contacts.page + contacts.perPage;
  for await (const contact of client.contacts.list()) {
    const email: string = contact.email;
    const company: string | null = contact.company;
    void email, company;
  }
  const contact = await client.contacts.create({ email: "ada@example.com", firstName: "Ada", customFields: { plan: "pro", seats: 3, vip: true } }, options);
  await client.contacts.get(contact.id);
  await client.contacts.update(contact.id, { company: null });
  const deleted: { id: string; deleted: true } = await client.contacts.delete(contact.id);

  const group = await client.groups.create({ name: "Q1" });
  await client.groups.list({ perPage: 100 });
  await client.groups.get(group.id);
  await client.groups.update(group.id, { description: "prospects" });
  const added: number = (await client.groups.addContacts(group.id, { contactIds: [contact.id] })).added;
  await client.groups.delete(group.id);

  const mailbox = await client.emailAccounts.create({ fromEmail: "s@acme.example", fromName: "Sam", smtp: { host: "smtp.acme.example", port: 587, username: "s", password: "pw" } });
  const dailyLimit: number = mailbox.dailyLimit;
  await client.emailAccounts.list();
  await client.emailAccounts.get(mailbox.id);
  await client.emailAccounts.update(mailbox.id, { dailyLimit: 100, smtp: { password: "new" } });
  const withImap = await client.emailAccounts.update(mailbox.id, { imap: { host: "imap.acme.example", port: 993, username: "s", password: "pw", security: "tls" } });
  const imapStatus: "active" | "error" | undefined = withImap.imap?.status;
  const lastPolledAt: string | null | undefined = withImap.imap?.lastPolledAt;
  void imapStatus;
  void lastPolledAt;
  await client.emailAccounts.update(mailbox.id, { imap: { password: "rotated" } });
  await client.emailAccounts.update(mailbox.id, { imap: null });
  // @ts-expect-error the IMAP password is write-only: never in a response
  void withImap.imap?.password;
  // @ts-expect-error security is one of none | starttls | tls
  await client.emailAccounts.update(mailbox.id, { imap: { security: "ssl" } });
  await client.emailAccounts.delete(mailbox.id);

  const campaign: Campaign = await client.campaigns.create({
    name: "Automatizada Q1 2025",
    emailAccountId: mailbox.id,
    steps: [{ subject: "Hi", body: "Hello" }, { subject: "Re: Hi", body: "Bump", delayDays: 3 }],
    schedule: { timezone: "Europe/Madrid" },
  });
  const delayDays: number = campaign.steps[0]!.delayDays;
  const startHour: number = campaign.schedule.startHour;
  const campaigns = await client.campaigns.list({ status: "running" });
  for (const c of campaigns) {
    const stats: CampaignStats = await client.campaigns.getStats(c.id);
    const line: string = `${c.name}: ${stats.openRate}% aperturas, ${stats.replyRate}% respuestas`;
    void line;
  }
  await client.campaigns.get(campaign.id);
  await client.campaigns.update(campaign.id, { schedule: { days: ["mon", "wed"] } });
  await client.campaigns.addContacts(campaign.id, { groupId: "grp_456" });
  await client.campaigns.addContacts(campaign.id, { contactIds: ["ctc_1"] });
  const status: "draft" | "running" | "paused" | "completed" = (await client.campaigns.start(campaign.id)).status;
  await client.campaigns.pause(campaign.id);

  const webhook = await client.webhooks.create({ url: "https://hooks.example.com/fluenzr", events: ["email.opened"] });
  const secret: string = webhook.secret;
  const active: boolean = webhook.active;
  await client.webhooks.list();
  await client.webhooks.delete(webhook.id);
  client.webhooks.verify("{}", { "webhook-id": "x" }, secret);
  const event: WebhookPayload = client.webhooks.unwrap("{}", new Headers(), secret);
  const rate: RateLimit | undefined = client.rateLimit;

  const suppressed = await client.suppressions.create({ emails: ["ada@example.com"], domains: ["example.org"] });
  const entry: string = suppressed.added[0]?.entry ?? "";
  const reason: "bounced" | "unsubscribed" | "manual" | undefined = suppressed.existing[0]?.reason;
  for await (const item of client.suppressions.list({ reason: "manual", search: "example" })) void item.domain;
  const removed: void = await client.suppressions.delete(entry);
  const suppressedIds: string[] = (await client.campaigns.addContacts("cmp_1", { groupId: "grp_1" })).suppressedContactIds;
  void [reason, removed, suppressedIds];

  try {
    await client.contacts.get("ctc_missing");
  } catch (error) {
    if (error instanceof NotFoundError) {
      const fields: { status: number | undefined; code: string | undefined; details: Record<string, unknown>; requestId: string | undefined } = error;
      void fields;
    } else if (error instanceof APIError) {
      void error.message;
    }
  }
  void [health, docs, total, deleted, added, dailyLimit, delayDays, startHour, status, active, event, rate];

  // @ts-expect-error a misspelt field (the wire is camelCase)
  await client.contacts.create({ email: "a@b.co", first_name: "Ada" });
  // @ts-expect-error email is required
  await client.contacts.create({ firstName: "Ada" });
  // @ts-expect-error an unknown query parameter
  await client.contacts.list({ emial: "x" });
  // @ts-expect-error perPage is a number
  await client.contacts.list({ perPage: "50" });
  // @ts-expect-error a step needs a body
  await client.campaigns.create({ name: "x", steps: [{ subject: "Hi" }] });
  // @ts-expect-error an event that does not exist
  await client.webhooks.create({ url: "https://h.example.com", events: ["email.read"] });
  // @ts-expect-error ids are positional strings
  await client.campaigns.start({ id: "cmp_1" });
  // @ts-expect-error status is read-only output, not input
  await client.campaigns.update("cmp_1", { status: "running" });
  // @ts-expect-error stats have no openRatio
  void (await client.campaigns.getStats("cmp_1")).openRatio;
  // @ts-expect-error a reason that does not exist
  await client.suppressions.list({ reason: "spam" });
  // @ts-expect-error the reason of an added entry is always manual: not an input
  await client.suppressions.create({ emails: ["a@b.co"], reason: "manual" });
  // @ts-expect-error groups.addContacts takes contactIds, not groupId
  await client.groups.addContacts("grp_1", { groupId: "grp_2" });
}
