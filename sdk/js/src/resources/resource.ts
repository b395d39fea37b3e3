import type { APIClient } from "../core/api-client.js";

/** A group of methods over one tag of the contract. */
export abstract class APIResource {
  protected readonly _client: APIClient;

  constructor(client: APIClient) {
    this._client = client;
  }
}
