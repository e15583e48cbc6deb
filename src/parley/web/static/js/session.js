// @ts-check
/**
 * The signed-in session of this tab. The access token lives in memory only; the refresh token is
 * an HttpOnly cookie the page never sees, renewed with a CSRF header (double submit). Renewals are
 * serialised across tabs with a Web Lock, because refresh tokens rotate and a token used twice
 * ends the whole session on the server.
 * @module session
 */
import { ApiClient, ApiError, errorFrom, paths } from "./api.js";

/**
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} email
 * @property {string} display_name
 * @property {"admin"|"user"} role
 * @property {boolean} is_active
 * @property {boolean} has_avatar
 * @property {string} created_at
 */

/**
 * @typedef {object} TokenPair
 * @property {string} access_token
 * @property {number} expires_in seconds
 * @property {User} user
 */

export class Session extends EventTarget {
  constructor() {
    super();
    /** @type {User | null} */
    this.user = null;
    /** @type {string | null} */
    this.accessToken = null;
    /** @type {number | undefined} */
    this.timer = undefined;
    /** @type {Promise<boolean> | null} */
    this.renewing = null;
    this.api = new ApiClient(
      () => this.accessToken,
      () => this.renew(),
    );
  }

  /** @returns {boolean} */
  get signedIn() {
    return this.user !== null;
  }

  /**
   * Use a fresh token pair from login or refresh.
   * @param {TokenPair} pair
   */
  adopt(pair) {
    this.accessToken = pair.access_token;
    this.user = pair.user;
    clearTimeout(this.timer);
    // Renew at 80% of the token's life, so requests never wait on an expired token.
    const delay = Math.max(5, pair.expires_in * 0.8) * 1000;
    this.timer = window.setTimeout(() => void this.renew(), delay);
    this.dispatchEvent(new Event("change"));
  }

  forget() {
    clearTimeout(this.timer);
    const was = this.user !== null;
    this.user = null;
    this.accessToken = null;
    if (was) this.dispatchEvent(new Event("change"));
  }

  /** @returns {Promise<string>} a CSRF token (also set as a cookie by the server) */
  async csrf() {
    const response = await fetch(paths.csrfToken(), { credentials: "same-origin" });
    if (!response.ok) throw await errorFrom(response);
    return (await response.json()).csrf_token;
  }

  /**
   * Get a new access token from the refresh cookie. False means: not signed in.
   * @returns {Promise<boolean>}
   */
  renew() {
    // The server marks signed-in browsers with a readable cookie; without it there is no
    // refresh cookie either, so there is nothing to ask.
    if (!document.cookie.split("; ").includes("parley_signed_in=1")) {
      this.forget();
      return Promise.resolve(false);
    }
    if (!this.renewing) {
      const attempt = async () => {
        try {
          const csrf = await this.csrf();
          const response = await fetch(paths.refresh(), {
            method: "POST",
            headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
            credentials: "same-origin",
          });
          if (!response.ok) {
            if (response.status === 401 || response.status === 403) {
              document.cookie = "parley_signed_in=; Max-Age=0; path=/; SameSite=Strict";
              this.forget();
            }
            return false;
          }
          this.adopt(await response.json());
          return true;
        } catch {
          return false;
        }
      };
      /** @type {Promise<boolean>} */
      const locked = navigator.locks
        ? navigator.locks.request("parley-refresh", attempt).then((ok) => Boolean(ok))
        : attempt();
      this.renewing = locked.finally(() => {
        this.renewing = null;
      });
    }
    return /** @type {Promise<boolean>} */ (this.renewing);
  }

  /**
   * @param {string} username username or email
   * @param {string} password
   */
  async signIn(username, password) {
    const pair = await this.api.request(paths.login(), {
      json: { username, password },
      auth: false,
    });
    this.adopt(pair);
  }

  /**
   * @param {{username: string, email: string, password: string, display_name: string}} fields
   */
  async signUp(fields) {
    await this.api.request(paths.register(), { json: fields, auth: false });
    await this.signIn(fields.username, fields.password);
  }

  async signOut() {
    try {
      const csrf = await this.csrf();
      await this.api.request(paths.logout(), {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    } finally {
      this.forget();
    }
  }

  /** Reload the user (after a profile change). */
  async reloadUser() {
    this.user = await this.api.request(paths.me());
    this.dispatchEvent(new Event("change"));
  }
}

/** The one session of this tab. */
export const session = new Session();
