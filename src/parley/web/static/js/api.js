// @ts-check
/**
 * HTTP client for Parley's REST API: JSON in and out, bearer token from the session, and
 * problem+json errors turned into {@link ApiError}s whose `message` a person can read.
 * @module api
 */

/**
 * Problem types whose server wording we replace with plainer words. Every type the API can
 * answer is either here or, with the reason, in `tests/unit/test_problem_words.py`'s list of
 * types whose server wording is shown as it is (that test fails on a new type in neither).
 */
const PLAIN_WORDS = /** @type {Record<string, string>} */ ({
  "invalid-credentials": "Wrong username or password.",
  "login-rate-limited": "Too many failed sign-ins. Wait a few minutes and try again.",
  "wrong-password": "The meeting password is wrong.",
  "wrong-current-password": "The current password is wrong.",
  "password-required": "This meeting needs a password.",
  "meeting-full": "The meeting is full.",
  "meeting-finished": "This meeting has ended.",
  "meeting-not-found": "There is no meeting with this code. Check the link.",
  "removed": "You were removed from this meeting and cannot rejoin.",
  "sign-in-required": "Sign in to join this meeting: guests are not allowed.",
  "account-disabled": "This account is disabled. Ask an administrator.",
  "dependency-unavailable": "The service is busy or restarting. Try again in a moment.",
  "csrf-failed": "Your session expired. Sign in again.",
  "invalid-token": "Your session expired. Sign in again.",
  "invalid-refresh-token": "Your session expired. Sign in again.",
  "admin-required": "Only administrators can do this.",
  "rate-limited": "Too many requests. Wait a moment and try again.",
  "password-rate-limited": "Too many wrong meeting passwords. Wait a few minutes and try again.",
  "code-lookup-rate-limited": "Too many meeting codes tried. Wait a few minutes and try again.",
  "connection-check-rate-limited": "Too many connection checks from here. Wait a minute and try again.",
  "connection-check-busy": "The media server is busy with other connection checks. Try again in a few seconds.",
  "offer-refused": "The media server could not answer this browser's offer.",
  "quota-exceeded": "Your storage is full. Delete old recordings to make room.",
  "unavailable": "The service is busy or restarting. Try again in a moment.",
  "not-ready": "The service is busy or restarting. Try again in a moment.",
  "poll-closed": "This poll is closed: votes can no longer be cast or changed.",
  "poll-not-found": "This poll no longer exists.",
  "invalid-vote": "Pick one of the poll's options (only one, unless the poll allows several).",
  "not-a-voter": "Only people in the meeting can vote.",
  "internal": "Something went wrong on our side. Try again; if it keeps happening, tell an administrator.",
});

/**
 * Plain words for a field the server refused, by `field:error-type` first, then by error type
 * alone (Pydantic's types: the server's own `msg` is validator text, not for people). A field
 * error of another type is shown with the server's message.
 */
const FIELD_WORDS = /** @type {Record<string, string>} */ ({
  "username:string_too_short": "Use at least 3 characters.",
  "username:string_too_long": "Use at most 32 characters.",
  "username:string_pattern_mismatch": "Use only letters, digits, dots, dashes and underscores (no spaces).",
  "email:value_error": "Enter an email address like name@example.org.",
  "password:string_too_short": "Use at least 8 characters.",
  "password:too_short": "Use at least 8 characters.",
  "new_password:string_too_short": "Use at least 8 characters.",
  "new_password:too_short": "Use at least 8 characters.",
  "display_name:string_too_short": "Enter your name.",
  "display_name:string_too_long": "Use at most 100 characters.",
  "title:string_too_short": "Enter a title.",
  "missing": "Fill this in.",
  "string_too_short": "This is too short.",
  "string_too_long": "This is too long.",
  "too_short": "This is too short.",
  "too_long": "This is too long.",
  "datetime_from_date_parsing": "Pick a date and time.",
  "datetime_parsing": "Pick a date and time.",
  "greater_than_equal": "This number is too small.",
  "less_than_equal": "This number is too large.",
});

/**
 * @typedef {object} FieldError one field the server refused
 * @property {Array<string|number>} loc where, e.g. `["body", "email"]`
 * @property {string} msg the validator's message
 * @property {string} [type] the validator's error type, e.g. `string_too_short`
 * @property {string} field the field's name (the last part of `loc`)
 * @property {string} words what to tell a person
 */

/**
 * @param {{loc?: Array<string|number>, msg?: string, type?: string}} error
 * @returns {FieldError}
 */
function fieldError(error) {
  const loc = Array.isArray(error.loc) ? error.loc : [];
  const field = String(loc[loc.length - 1] ?? "");
  const type = String(error.type ?? "");
  const msg = String(error.msg ?? "");
  const fallback = msg ? `${msg.charAt(0).toUpperCase()}${msg.slice(1)}${/[.!?]$/.test(msg) ? "" : "."}` : "This is not valid.";
  const words = FIELD_WORDS[`${field}:${type}`] || FIELD_WORDS[type] || fallback;
  return { loc, msg, type, field, words };
}

/** One path segment, escaped (ids are UUIDs, meeting codes are typed by people). */
const seg = (/** @type {string | number} */ value) => encodeURIComponent(String(value));

/**
 * Every REST path the client calls, in one place: pages and modules take their paths from
 * here and hold no `/api/v1` literal of their own.
 */
export const paths = Object.freeze({
  csrfToken: () => "/api/v1/auth/csrf-token",
  login: () => "/api/v1/auth/login",
  register: () => "/api/v1/auth/register",
  refresh: () => "/api/v1/auth/refresh",
  logout: () => "/api/v1/auth/logout",
  me: () => "/api/v1/users/me",
  myAvatar: () => "/api/v1/users/me/avatar",
  myPassword: () => "/api/v1/users/me/password",
  /** @param {string} userId */
  avatar: (userId) => `/api/v1/users/${seg(userId)}/avatar`,
  adminUsers: () => "/api/v1/admin/users",
  /** @param {string} userId */
  adminUser: (userId) => `/api/v1/admin/users/${seg(userId)}`,
  meetings: () => "/api/v1/meetings",
  meetingStats: () => "/api/v1/meetings/stats",
  /** @param {string} meetingId */
  meeting: (meetingId) => `/api/v1/meetings/${seg(meetingId)}`,
  /** @param {string} code the meeting code people type or follow in a link */
  meetingByCode: (code) => `/api/v1/meetings/by-code/${seg(code)}`,
  /** @param {string} meetingId */
  join: (meetingId) => `/api/v1/meetings/${seg(meetingId)}/join`,
  /** @param {string} meetingId */
  rejoin: (meetingId) => `/api/v1/meetings/${seg(meetingId)}/rejoin`,
  /** @param {string} meetingId */
  calendar: (meetingId) => `/api/v1/meetings/${seg(meetingId)}/calendar.ics`,
  /** @param {string} meetingId */
  recordings: (meetingId) => `/api/v1/meetings/${seg(meetingId)}/recordings`,
  /**
   * @param {string} meetingId
   * @param {string} recordingId
   */
  recording: (meetingId, recordingId) => `/api/v1/meetings/${seg(meetingId)}/recordings/${seg(recordingId)}`,
  /**
   * Under the meeting's breakout rooms: "" (the session), "open", "close", "broadcast", "help",
   * "return", "<room id>" or "<room id>/join".
   * @param {string} meetingId the main meeting
   * @param {string} what
   */
  breakouts: (meetingId, what) => `/api/v1/meetings/${seg(meetingId)}/breakouts${what ? `/${what.split("/").map(seg).join("/")}` : ""}`,
  /** @param {string} meetingId */
  polls: (meetingId) => `/api/v1/meetings/${seg(meetingId)}/polls`,
  /**
   * @param {string} meetingId
   * @param {string} pollId
   * @param {"votes"|"close"|"results.csv"} what
   */
  poll: (meetingId, pollId, what) => `/api/v1/meetings/${seg(meetingId)}/polls/${seg(pollId)}/${what}`,
  uploads: () => "/api/v1/media/uploads/",
  /** @param {string} mediaId */
  media: (mediaId) => `/api/v1/media/${seg(mediaId)}`,
  /** @param {string} mediaId */
  mediaLink: (mediaId) => `/api/v1/media/${seg(mediaId)}/link`,
  /** STUN/TURN servers (TURN with fresh REST credentials) for a signed-in caller */
  iceServers: () => "/api/v1/media/ice-servers",
  /** the same STUN/TURN addresses for anyone, TURN without usable credentials (connection check) */
  iceServersToCheck: () => "/api/v1/media/ice-servers/check",
  /** the connection check's probe of the media server: POST an offer, get its answer */
  connectionCheck: () => "/api/v1/media/connection-check",
  /** @param {string} probeId */
  connectionProbe: (probeId) => `/api/v1/media/connection-check/${seg(probeId)}`,
  aiResults: () => "/api/v1/ai/results",
});

/** An API call that did not succeed. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} type the problem type's last segment, e.g. `wrong-password`
   * @param {string} message words for a person
   * @param {FieldError[]} [fields] validation errors, with words for each
   */
  constructor(status, type, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.fields = fields;
  }
}

/**
 * Turn a failed response into an ApiError.
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
export async function errorFrom(response) {
  /** @type {any} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const type = typeof body?.type === "string" ? body.type.split(/[:/]/).pop() || "error" : "error";
  const fields = Array.isArray(body?.errors) ? body.errors.map(fieldError) : [];
  let message = PLAIN_WORDS[type] || (typeof body?.detail === "string" ? body.detail : "");
  if (fields.length > 0) {
    const label = (/** @type {string} */ name) => `${name.charAt(0).toUpperCase()}${name.slice(1).replace(/_/g, " ")}`;
    message = fields.map((e) => `${label(e.field || "field")}: ${e.words}`).join(" ");
  }
  if (!message) message = `Something went wrong (HTTP ${response.status}). Try again.`;
  return new ApiError(response.status, type, message, fields);
}

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [json] body sent as JSON
 * @property {BodyInit} [body] raw body (e.g. an image)
 * @property {Record<string, string>} [headers]
 * @property {Record<string, string|number|boolean|undefined|null>} [query]
 * @property {boolean} [auth] send the bearer token (default true)
 */

/** The API as seen by one signed-in (or anonymous) browser tab. */
export class ApiClient {
  /**
   * @param {() => string | null} token returns the current access token
   * @param {() => Promise<boolean>} renew gets a fresh access token; false if signed out
   */
  constructor(token, renew) {
    this.token = token;
    this.renew = renew;
  }

  /**
   * @param {string} path e.g. `/api/v1/meetings`
   * @param {RequestOptions} [options]
   * @returns {Promise<any>} the parsed JSON body (null for 204)
   */
  async request(path, options = {}) {
    const response = await this.raw(path, options);
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /**
   * Like {@link request} but returns the Response (for files); throws ApiError on failure.
   * @param {string} path
   * @param {RequestOptions} [options]
   * @returns {Promise<Response>}
   */
  async raw(path, options = {}) {
    let response = await this.send(path, options);
    if (response.status === 401 && options.auth !== false && this.token()) {
      if (await this.renew()) response = await this.send(path, options);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /**
   * @param {string} path
   * @param {RequestOptions} options
   * @returns {Promise<Response>}
   */
  async send(path, options) {
    const url = new URL(path, location.origin);
    for (const [key, value] of Object.entries(options.query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
    }
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const token = options.auth === false ? null : this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    /** @type {BodyInit | undefined} */
    let body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    try {
      return await fetch(url, {
        method: options.method || (body === undefined ? "GET" : "POST"),
        headers,
        body,
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
    }
  }
}
