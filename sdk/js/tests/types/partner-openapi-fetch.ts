// What a partner writes with openapi-fetch over openapi-typescript's output for the contract (generated
// with default options: src/generated/openapi.ts). Fields with server-side defaults are optional in
// requests and always present in responses.
import createClient from "openapi-fetch";

import type { paths } from "../../src/generated/openapi.js";

export async function partner(): Promise<string[]> {
  const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000/v1", headers: { Authorization: "Bearer fz_live_x" } });
  const out: string[] = [];

  const mailbox = await api.POST("/email-accounts", {
    params: { header: { "Idempotency-Key": "8e1f0c7a-5b2d-4f6e-9a3c-1d2e3f4a5b6c" } },
    body: { fromEmail: "s@acme.example", fromName: "Sam", smtp: { host: "smtp.acme.example", port: 587, username: "s", password: "pw" } },
  });
  if (mailbox.data) {
    const dailyLimit: number = mailbox.data.data.dailyLimit;
    out.push(String(dailyLimit));
  }

  const campaign = await api.POST("/campaigns", {
    body: { name: "Q1", steps: [{ subject: "Hi", body: "Hello" }], schedule: { timezone: "Europe/Madrid" } },
  });
  if (campaign.data) {
    const delayDays: number = campaign.data.data.steps[0]!.delayDays;
    const days: string[] = campaign.data.data.schedule.days;
    out.push(`${delayDays} ${days.join(",")}`);
  } else if (campaign.error) {
    out.push(campaign.error.error.code);
  }

  const webhook = await api.POST("/webhooks", { body: { url: "https://hooks.example.com/x", events: ["email.opened"] } });
  if (webhook.data) {
    const active: boolean = webhook.data.data.active;
    out.push(`${active} ${webhook.data.data.secret}`);
  }

  const stats = await api.GET("/campaigns/{campaignId}/stats", { params: { path: { campaignId: "cmp_1" } } });
  if (stats.data) out.push(`${stats.data.data.openRate}%`);

  // @ts-expect-error a step needs a subject
  await api.POST("/campaigns", { body: { name: "Q1", steps: [{ body: "Hello" }] } });
  return out;
}
