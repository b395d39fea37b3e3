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

interface Chunk {
  /** The input index of each row. */
  positions: number[];
  rows: Row[];
  /** `earlierEmails`: emails of these rows that earlier batches gave, with the winning row's index. */
  earlier: Record<string, number>;
}

/** The input index of a batch's `index`-th row. */
function positionOf(chunk: Chunk, index: number): number {
  const position = chunk.positions[index];
  if (position === undefined) throw new RangeError(`the answer names row ${index} of a batch of ${chunk.rows.length}`);
  return position;
}

/** A row's email as the server compares emails (lower-cased), or undefined when it gives no string email. */
function emailKey(row: unknown): string | undefined {
  if (row === null || typeof row !== "object" || Array.isArray(row)) return undefined;
  const email = (row as Row).email;
  return typeof email === "string" ? email.toLowerCase() : undefined;
}

class Cutter {
  private chunk: Chunk = { positions: [], rows: [], earlier: {} };
  private bytes = 0;

  constructor(private readonly batchSize: number) {}

  /** Adds a row at input `position`; the full chunk it closes, if any. */
  add(position: number, row: Row, earlier?: [string, number]): Chunk | undefined {
    let size = JSON.stringify(row ?? null).length + 1;
    if (earlier && !(earlier[0] in this.chunk.earlier)) size += JSON.stringify(earlier[0]).length + 12;
    let full: Chunk | undefined;
    if (this.chunk.rows.length > 0 && (this.chunk.rows.length >= this.batchSize || this.bytes + size > MAX_BATCH_BYTES)) {
      full = this.flush();
    }
    this.chunk.positions.push(position);
    this.chunk.rows.push(row);
    if (earlier) this.chunk.earlier[earlier[0]] = earlier[1];
    this.bytes += size;
    return full;
  }

  flush(): Chunk | undefined {
    if (this.chunk.rows.length === 0) return undefined;
    const full = this.chunk;
    this.chunk = { positions: [], rows: [], earlier: {} };
    this.bytes = 0;
    return full;
  }
}

/**
 * Cuts one import into batches so that a duplicate email is answered as inside one batch: the first row
 * whose email passes `create`'s checks wins, each later one is a `CONFLICT` with `details.firstIndex`.
 * A row whose email a still unanswered earlier row gives is held back; once every batch sent so far is
 * answered (`record`), `nextRound` sends the held rows with `earlierEmails` naming the winning row (the
 * server then answers them exactly so), or as a new first row when every earlier one failed its checks.
 */
class FirstWins {
  private readonly cutter: Cutter;
  private readonly winners = new Map<string, number>();
  private sent = new Set<string>();
  private held: [number, Row][] = [];

  constructor(batchSize: number) {
    this.cutter = new Cutter(batchSize);
  }

  private place(position: number, row: Row): Chunk | undefined {
    const key = emailKey(row);
    if (key !== undefined) {
      const winner = this.winners.get(key);
      if (winner !== undefined) return this.cutter.add(position, row, [key, winner]);
      if (this.sent.has(key)) {
        this.held.push([position, row]);
        return undefined;
      }
      this.sent.add(key);
    }
    return this.cutter.add(position, row);
  }

  async *firstRound(rows: Iterable<Row> | AsyncIterable<Row>): AsyncGenerator<Chunk> {
    let position = 0;
    for await (const row of rows) {
      const full = this.place(position, row);
      if (full) yield full;
      position += 1;
    }
    const last = this.cutter.flush();
    if (last) yield last;
  }

  /** The batches of the held rows; call once every batch sent so far is recorded. Empty: done. */
  nextRound(): Chunk[] {
    const held = this.held;
    this.held = [];
    this.sent = new Set();
    const out: Chunk[] = [];
    for (const [position, row] of held) {
      const full = this.place(position, row);
      if (full) out.push(full);
    }
    const last = this.cutter.flush();
    if (last) out.push(last);
    return out;
  }

  /** Learns from a batch's answer which of its rows won their email (passed the row checks). */
  record(chunk: Chunk, answer: ContactBatch): void {
    for (const result of answer.results) {
      const key = emailKey(chunk.rows[result.index]);
      if (key === undefined || this.winners.has(key)) continue;
      if (result.error?.code !== "VALIDATION_ERROR") this.winners.set(key, positionOf(chunk, result.index));
    }
  }
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
   * stored). 429s are retried after `Retry-After` by the client. A duplicate email is answered as inside
   * one batch, across batches too: the first row whose email passes the checks wins, a later one is a
   * `CONFLICT` with `details.firstIndex` (it is sent once the earlier row is answered, with `earlierEmails`).
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
    const plan = new FirstWins(batchSize);
    const answers: { chunk: Chunk; answer: ContactBatch }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const launch = async (chunk: Chunk): Promise<void> => {
      const body = {
        contacts: chunk.rows,
        mode: batch.mode ?? "create",
        ...(batch.groupId === undefined ? {} : { groupId: batch.groupId }),
        ...(Object.keys(chunk.earlier).length === 0 ? {} : { earlierEmails: chunk.earlier }),
      };
      const sent: Promise<void> = this.createBatch(body as ContactBatchParams, options).then(
        (answer) => {
          plan.record(chunk, answer);
          answers.push({ chunk, answer });
        },
        (error: unknown) => {
          failure ??= error;
        },
      );
      const tracked = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    };
    for await (const chunk of plan.firstRound(rows)) {
      if (failure !== undefined) break;
      await launch(chunk);
    }
    await Promise.all(inFlight);
    while (failure === undefined) {
      const held = plan.nextRound();
      if (held.length === 0) break;
      for (const chunk of held) {
        if (failure !== undefined) break;
        await launch(chunk);
      }
      await Promise.all(inFlight);
    }
    if (failure !== undefined) throw failure;
    const results: ContactBatchRowResult[] = [];
    const counts = { created: 0, updated: 0, unchanged: 0, error: 0 };
    for (const { chunk, answer } of answers) {
      for (const result of answer.results) {
        results.push({ ...result, index: positionOf(chunk, result.index) });
        counts[result.status] += 1;
      }
    }
    results.sort((a, b) => a.index - b.index);
    return { mode: batch.mode ?? "create", groupId: batch.groupId ?? null, counts, results } as ContactBatch;
  }
}
