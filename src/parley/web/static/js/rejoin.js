// @ts-check
/**
 * Coming back to a meeting as the same participant (docs/signaling.md, "Coming back"): what
 * this tab keeps to do so, the rejoin request, and a signaling connection that rejoins by itself
 * once resuming is no longer possible (a drop longer than the resume window, or a resume the
 * server no longer knows, as after a tab whose timers were starved).
 *
 * What is kept lives in this tab's session storage only: never local storage (other tabs and
 * later visits), never a URL (logs, history). It is the participant id and the server's rejoin
 * credential, which works once (each rejoin answers with the next), is bound to this
 * participant and to this browser's sign-in or guest cookie, and is revoked by the server when
 * the person leaves, is removed or denied, or the meeting ends. No password, no name, no
 * resume token is kept.
 * @module rejoin
 */
import { ApiError } from "./api.js";
import { SignalingConnection } from "./protocol.js";
import { session } from "./session.js";

/**
 * What this tab keeps to come back into one meeting.
 * @typedef {object} RejoinRecord
 * @property {string} participant_id
 * @property {string} token the rejoin credential
 * @property {boolean} audio the microphone was on
 * @property {boolean} video the camera was on
 */

/**
 * The answer to a join or a rejoin.
 * @typedef {object} Joined
 * @property {{id: string, status: string, display_name: string}} participant
 * @property {{url: string, token: string, expires_in: number}} signaling
 * @property {{token: string, expires_in: number}} rejoin
 */

/** As protocol.js: how long the server keeps a dropped participant (resume only within it). */
const RESUME_WINDOW_MS = 30_000;

/** Trying to rejoin stops after this long without success (then "Connection lost"). */
const GIVE_UP_MS = 10 * 60_000;

/** The longest pause between two tries (they start at 1 s and double). */
const RETRY_MAX_MS = 15_000;

/** Close codes after which no rejoin is tried: removed or denied, ended, flooding. */
const FINAL_CODES = new Set([4403, 4410, 1008]);

/** Frames for the links of the old entry: meaningless to the others after a rejoin. */
const STALE_AFTER_REJOIN = new Set(["offer", "answer", "candidate", "renegotiate", "sfu-publish", "sfu-join", "sfu-subscribe-answer", "sfu-layer"]);

/** @param {string} meetingId */
const storageKey = (meetingId) => `parley:rejoin:${meetingId}`;

/**
 * What this tab keeps for the meeting, or null.
 * @param {string} meetingId
 * @returns {RejoinRecord | null}
 */
export function remembered(meetingId) {
  try {
    const record = JSON.parse(sessionStorage.getItem(storageKey(meetingId)) || "null");
    if (record && typeof record.participant_id === "string" && typeof record.token === "string") {
      return { participant_id: record.participant_id, token: record.token, audio: record.audio !== false, video: record.video !== false };
    }
  } catch {
    // storage blocked or unreadable: nothing to come back with
  }
  return null;
}

/**
 * @param {string} meetingId
 * @param {RejoinRecord} record
 */
export function remember(meetingId, record) {
  try {
    sessionStorage.setItem(storageKey(meetingId), JSON.stringify(record));
  } catch {
    // storage blocked: a reload shows the join page, as before
  }
}

/**
 * Keep whether the microphone and camera are on, so that a reload comes back the same.
 * @param {string} meetingId
 * @param {boolean} audio
 * @param {boolean} video
 */
export function rememberMedia(meetingId, audio, video) {
  const record = remembered(meetingId);
  if (record && (record.audio !== audio || record.video !== video)) remember(meetingId, { ...record, audio, video });
}

/**
 * Left for good (or shut out): nothing to come back with.
 * @param {string} meetingId
 */
export function forget(meetingId) {
  try {
    sessionStorage.removeItem(storageKey(meetingId));
  } catch {
    // storage blocked: there was nothing kept
  }
}

/** The server will not take this participant back: why, in the words of {@link Ended}. */
export class RejoinRefused extends Error {
  /**
   * @param {import("./protocol.js").Ended["reason"]} reason
   * @param {string} message words for a person
   */
  constructor(reason, message) {
    super(message);
    this.name = "RejoinRefused";
    this.reason = reason;
  }
}

/**
 * Whether a failed rejoin request will fail again however often it is tried.
 * @param {ApiError} failure
 */
function final(failure) {
  return [401, 403, 404, 410, 422].includes(failure.status);
}

/**
 * Ask to come back as the same participant: a new signaling ticket, and the next credential
 * (kept at once: the one sent no longer works). Rejects with {@link RejoinRefused} (and forgets
 * what was kept) when the server will never take this participant back; with another error
 * when it could not be asked (offline, server busy): worth another try.
 * @param {string} meetingId
 * @returns {Promise<Joined>}
 */
export async function rejoinMeeting(meetingId) {
  const saved = remembered(meetingId);
  if (!saved) throw new RejoinRefused("lost", "Nothing to come back with.");
  /** @type {Joined} */
  let joined;
  try {
    joined = await session.api.request(`/api/v1/meetings/${encodeURIComponent(meetingId)}/rejoin`, {
      json: { participant_id: saved.participant_id, token: saved.token },
    });
  } catch (failure) {
    if (failure instanceof ApiError && final(failure)) {
      forget(meetingId);
      if (failure.status === 410) throw new RejoinRefused("meeting-ended", failure.message);
      if (failure.type === "removed") throw new RejoinRefused("removed", "A host removed you from this meeting. You cannot rejoin it.");
      throw new RejoinRefused("lost", "Your earlier place in this meeting has expired. Join again.");
    }
    throw failure;
  }
  remember(meetingId, { ...saved, participant_id: joined.participant.id, token: joined.rejoin.token });
  return joined;
}

/**
 * A signaling connection that comes back by itself: it resumes within the resume window (as
 * {@link SignalingConnection} does), and after it, or when the server no longer knows the resume
 * token (4401 to a resume), it asks `rejoin` for a new ticket of the same participant and enters
 * with it. Tries back off from 1 s to 15 s (at once when the browser says it is online again) and
 * stop after 10 minutes. Meanwhile the connection stays "reconnecting"; the welcome of the new
 * entry is a `reconnected` event as after a resume, with {@link RejoiningConnection#rejoined} set.
 */
export class RejoiningConnection extends SignalingConnection {
  /**
   * @param {string} path the `signaling.url` of the join
   * @param {string} token the join's signaling ticket
   * @param {() => Promise<string>} rejoin a new signaling ticket for the same participant;
   *   rejects with {@link RejoinRefused} when there will be none
   */
  constructor(path, token, rejoin) {
    super(path, token);
    this.rejoin = rejoin;
    /** The socket now open was opened with the resume token. */
    this.resuming = false;
    /** Getting back in with new tickets, until a welcome. */
    this.rejoining = false;
    /** The last entry was a rejoin: a new entry, so the others dropped our old media links. */
    this.rejoined = false;
    this.rejoinTries = 0;
    /** @type {Promise<void> | null} */
    this.trying = null;
    this.addEventListener("welcome", () => {
      this.rejoining = false;
      this.rejoinTries = 0;
    });
  }

  /** @param {boolean} resuming */
  connect(resuming) {
    this.resuming = resuming && Boolean(this.resumeToken);
    if (this.resuming) this.rejoined = false;
    super.connect(resuming);
  }

  /**
   * @param {number} code
   * @param {string} [why]
   */
  onClose(code, why = "") {
    if (this.closedByUs || this.farewell || !this.worthRejoining(code, why)) {
      super.onClose(code, why);
      return;
    }
    if (this.lostAt === null) {
      this.lostAt = Date.now();
      this.emit("reconnecting", { code });
    }
    this.rejoining = true;
    if (!this.trying) this.trying = this.keepTrying().finally(() => { this.trying = null; });
  }

  /**
   * @param {number} code
   * @param {string} why
   */
  worthRejoining(code, why) {
    if (this.resumeToken === null) return false; // never got in: nothing to come back to
    if (FINAL_CODES.has(code) || (code === 4401 && why.startsWith("account "))) return false;
    if (code === 4409) return false; // replaced by this participant's newer connection
    if (this.rejoining) return true; // a socket of a rejoin closed before its welcome
    if (code === 4401) return this.resuming; // the server no longer knows our resume token
    return this.lostAt !== null && Date.now() - this.lostAt > RESUME_WINDOW_MS - 1000;
  }

  /** Ask for a ticket until one comes, a refusal comes, or it is time to give up. */
  async keepTrying() {
    while (!this.closedByUs) {
      if (this.rejoinTries > 0) {
        if (this.lostAt !== null && Date.now() - this.lostAt > GIVE_UP_MS) {
          this.rejoining = false;
          this.emit("ended", { code: 1006, reason: "lost" });
          return;
        }
        await pause(Math.min(1000 * 2 ** (this.rejoinTries - 1), RETRY_MAX_MS));
        if (this.closedByUs) return;
      }
      this.rejoinTries += 1;
      try {
        const ticket = await this.rejoin();
        if (this.closedByUs) return;
        this.token = ticket;
        this.rejoined = true;
        this.backlog = this.backlog.filter((frame) => !STALE_AFTER_REJOIN.has(frame.type));
        this.connect(false);
        return;
      } catch (failure) {
        if (failure instanceof RejoinRefused) {
          this.rejoining = false;
          this.emit("ended", { code: 4401, reason: failure.reason });
          return;
        }
        // Offline, or the server is busy: try again.
      }
    }
  }
}

/**
 * Wait `ms`, or less when the browser says it is online again.
 * @param {number} ms
 * @returns {Promise<void>}
 */
function pause(ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener("online", done);
  });
}
