// @ts-check
/**
 * A small tus 1.0 client for uploads whose length is not known in advance (a recording that
 * is still going): creation with `Upload-Defer-Length`, then one PATCH per chunk in order,
 * the length declared with the last one. A failed PATCH asks the server for its offset (HEAD)
 * and goes on from there, so a dropped connection loses nothing already sent.
 * @module tus
 */
import { ApiError, errorFrom, paths } from "./api.js";

const TUS = { "Tus-Resumable": "1.0.0" };

/** @param {Record<string, string>} metadata */
function encodeMetadata(metadata) {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${btoa(String.fromCharCode(...new TextEncoder().encode(value)))}`)
    .join(",");
}

export class StreamingUpload {
  /**
   * @param {() => string | null} token the bearer token (read on every request)
   * @param {Record<string, string>} metadata tus `Upload-Metadata` (filename, content_type, kind, …)
   */
  constructor(token, metadata) {
    this.token = token;
    this.metadata = metadata;
    /** @type {string | null} */
    this.url = null;
    this.offset = 0;
    /** @type {Promise<void>} chunks go out one after another */
    this.queue = Promise.resolve();
    /** @type {unknown} */
    this.failure = null;
  }

  /** @param {Record<string, string>} [extra] */
  headers(extra = {}) {
    const token = this.token();
    return { ...TUS, ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
  }

  /** Create the upload on the server. */
  async start() {
    const response = await fetch(paths.uploads(), {
      method: "POST",
      headers: this.headers({ "Upload-Defer-Length": "1", "Upload-Metadata": encodeMetadata(this.metadata) }),
    });
    if (!response.ok) throw await errorFrom(response);
    this.url = new URL(/** @type {string} */ (response.headers.get("Location")), location.origin).href;
  }

  /**
   * Queue a chunk; `last` declares the total length with it.
   * @param {Blob} chunk
   * @param {boolean} [last]
   * @returns {Promise<void>}
   */
  push(chunk, last = false) {
    this.queue = this.queue.then(() => this.send(chunk, last)).catch((error) => {
      this.failure = error;
      throw error;
    });
    return this.queue;
  }

  /**
   * @param {Blob} chunk
   * @param {boolean} last
   */
  async send(chunk, last) {
    if (!this.url) throw new ApiError(0, "tus", "The recording upload was not started.");
    const total = this.offset + chunk.size;
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(this.url, {
        method: "PATCH",
        headers: this.headers({
          "Upload-Offset": String(this.offset),
          "Content-Type": "application/offset+octet-stream",
          ...(last ? { "Upload-Length": String(total) } : {}),
        }),
        body: chunk,
      }).catch(() => null);
      if (response && response.ok) {
        this.offset = Number(response.headers.get("Upload-Offset") || total);
        return;
      }
      if (response && response.status !== 409 && response.status < 500) throw await errorFrom(response);
      if (attempt >= 5) throw response ? await errorFrom(response) : new ApiError(0, "network", "The recording upload lost its connection.");
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      // Where did the server get to? Send only what it lacks.
      const head = await fetch(this.url, { method: "HEAD", headers: this.headers() }).catch(() => null);
      if (head && head.ok) {
        const serverOffset = Number(head.headers.get("Upload-Offset") || this.offset);
        if (serverOffset >= total && !last) {
          this.offset = serverOffset;
          return;
        }
        if (serverOffset > this.offset) {
          chunk = chunk.slice(serverOffset - this.offset);
          this.offset = serverOffset;
        }
      }
    }
  }
}
