/**
 * Pages of list operations. `await client.contacts.list()` is one `Page` (an array of the items that also
 * carries `page`, `perPage` and `total`); `for await (const c of client.contacts.list())` walks every
 * page lazily, one request per page (after openai-node's `core/pagination.ts`).
 */

/** The envelope's `meta` of a list response. */
export interface PageInfo {
  page: number;
  perPage: number;
  total: number;
}

/** One page of a list: the items themselves, plus where the page sits in the whole list. */
export class Page<Item> extends Array<Item> {
  // map/filter/slice of a page return plain arrays, not pages.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** This page's number, from 1. */
  readonly page: number;
  /** The page size asked for. */
  readonly perPage: number;
  /** How many items match the filters, over every page. */
  readonly total: number;
  readonly #fetchPage: (page: number) => Promise<Page<Item>>;

  constructor(items: readonly Item[], info: PageInfo, fetchPage: (page: number) => Promise<Page<Item>>) {
    super();
    this.push(...items);
    this.page = info.page;
    this.perPage = info.perPage;
    this.total = info.total;
    this.#fetchPage = fetchPage;
  }

  /** The items as a plain array. */
  get data(): Item[] {
    return Array.from(this);
  }

  /** Whether a later page holds more items. */
  hasNextPage(): boolean {
    return this.length > 0 && this.page * this.perPage < this.total;
  }

  /** The next page (same filters and page size); an empty page past the end. */
  getNextPage(): Promise<Page<Item>> {
    return this.#fetchPage(this.page + 1);
  }

  /** This page, then each later page in turn. */
  async *iterPages(): AsyncGenerator<Page<Item>, void, undefined> {
    let current: Page<Item> = this;
    yield current;
    while (current.hasNextPage()) {
      current = await current.getNextPage();
      if (current.length === 0) return;
      yield current;
    }
  }
}

/**
 * A list call: `await` it for the first page, or `for await` it for every item of every page. Nothing
 * is requested until one of the two starts.
 */
export class PagePromise<Item> implements PromiseLike<Page<Item>>, AsyncIterable<Item> {
  readonly #fetchFirst: () => Promise<Page<Item>>;
  #first: Promise<Page<Item>> | undefined;

  constructor(fetchFirst: () => Promise<Page<Item>>) {
    this.#fetchFirst = fetchFirst;
  }

  get [Symbol.toStringTag](): string {
    return "PagePromise";
  }

  #page(): Promise<Page<Item>> {
    this.#first ??= this.#fetchFirst();
    return this.#first;
  }

  then<Result1 = Page<Item>, Result2 = never>(
    onfulfilled?: ((value: Page<Item>) => Result1 | PromiseLike<Result1>) | null,
    onrejected?: ((reason: unknown) => Result2 | PromiseLike<Result2>) | null,
  ): Promise<Result1 | Result2> {
    return this.#page().then(onfulfilled, onrejected);
  }

  catch<Result = never>(
    onrejected?: ((reason: unknown) => Result | PromiseLike<Result>) | null,
  ): Promise<Page<Item> | Result> {
    return this.#page().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<Item>> {
    return this.#page().finally(onfinally);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    const first = await this.#page();
    for await (const page of first.iterPages()) {
      yield* page;
    }
  }
}
