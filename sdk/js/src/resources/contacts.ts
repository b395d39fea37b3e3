import { path, type RequestOptions } from "../core/api-client.js";
import type { PagePromise } from "../core/pagination.js";
import type {
  Contact,
  ContactBatch,
  ContactBatchMode,
  ContactBatchParams,
  ContactBatchRowResult,
  ContactCreateParams,
  ContactListParams,
  ContactUpdateParams,
  Deleted,
} from "../types.js";
import { APIResource } from "./resource.js";

/** At most this many rows per `POST /contacts/batch`. */
export const MAX_BATCH_ROWS = 1000;
/** The server refuses bodies over 1 MiB; batches stay under this many bytes of JSON rows. */
export const MAX_BATCH_BYTES = 1_000_000;

export interface ContactBatchOptions {
  /** `create` (the default) only creates; `upsert` creates or updates by email (only the fields given). */
  mode?: ContactBatchMode;
  /** A group of your account that every stored row joins. */
  groupId?: string;
}

export interface ContactImportOptions extends ContactBatchOptions {
  /** Rows per request, 1 to 1,000 (default 1,000; a batch is also cut before 1 MiB of JSON). */
  batchSize?: number;
  /** Batches in flight at once (default 4). */
  concurrency?: number;
}

type Row = Record<string, unknown>;

async function* chunked(
  rows: Iterable<Row> | AsyncIterable<Row>,
  batchSize: number,
): AsyncGenerator<{ start: number; rows: Row[] }> {
  let start = 0;
  let batch: Row[] = [];
  let bytes = 0;
  for await (const row of rows) {
    const size = JSON.stringify(row ?? null).length + 1;
    if (batch.length > 0 && (batch.length >= batchSize || bytes + size > MAX_BATCH_BYTES)) {
      yield { start, rows: batch };
      start += batch.length;
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) yield { start, rows: batch };
}

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

  /** `createContactsBatch` with the body as the contract spells it (`{contacts, mode?, groupId?}`). */
  createBatch(body: ContactBatchParams, options?: RequestOptions): Promise<ContactBatch> {
    return this._client.request({ method: "POST", path: "/contacts/batch", body, options });
  }

  /**
   * Up to 1,000 contacts in one request: each row is checked with `create`'s rules and answered on its own
   * (`created`, `updated`, `unchanged`, or `error` with `create`'s code, message and details).
   */
  createMany(rows: Iterable<Row>, batch: ContactBatchOptions = {}, options?: RequestOptions): Promise<ContactBatch> {
    const body = { contacts: [...rows], mode: batch.mode ?? "create", ...(batch.groupId === undefined ? {} : { groupId: batch.groupId }) };
    return this.createBatch(body as ContactBatchParams, options);
  }

  /**
   * Any number of rows (an iterable or async iterable, read lazily) in batches of up to 1,000 rows and
   * under 1 MiB, at most `concurrency` in flight; one merged answer whose `index`es count from the start of
   * the input. The first batch refused as a whole rejects the promise (batches answered before it are
   * stored). 429s are retried after `Retry-After` by the client.
   */
  async importAll(
    rows: Iterable<Row> | AsyncIterable<Row>,
    batch: ContactImportOptions = {},
    options?: RequestOptions,
  ): Promise<ContactBatch> {
    const batchSize = batch.batchSize ?? MAX_BATCH_ROWS;
    const concurrency = batch.concurrency ?? 4;
    if (!(batchSize >= 1 && batchSize <= MAX_BATCH_ROWS)) throw new RangeError(`batchSize must be 1 to ${MAX_BATCH_ROWS}`);
    if (!(concurrency >= 1)) throw new RangeError("concurrency must be 1 or more");
    const answers: { start: number; answer: ContactBatch }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    for await (const chunk of chunked(rows, batchSize)) {
      if (failure !== undefined) break;
      const sent: Promise<void> = this.createMany(chunk.rows, batch, options).then(
        (answer) => {
          answers.push({ start: chunk.start, answer });
        },
        (error: unknown) => {
          failure ??= error;
        },
      );
      const tracked = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    answers.sort((a, b) => a.start - b.start);
    const results: ContactBatchRowResult[] = [];
    const counts = { created: 0, updated: 0, unchanged: 0, error: 0 };
    for (const { start, answer } of answers) {
      for (const result of answer.results) {
        results.push({ ...result, index: start + result.index });
        counts[result.status] += 1;
      }
    }
    return { mode: batch.mode ?? "create", groupId: batch.groupId ?? null, counts, results } as ContactBatch;
  }
}
