// @ts-check
/**
 * One tile of the room's grid: a participant's camera, name and indicators.
 * @module pages/room/tile
 */
import { icon, signalBars } from "../../icons.js";
import { h } from "../../ui.js";

/** @typedef {import("../../protocol.js").Peer} Peer */

/** How long a peer's media may take to arrive before the tile says it is still connecting. */
export const CONNECTING_AFTER_MS = 3_000;

/** How long a peer's media may take to arrive before the tile says it cannot connect. */
export const CANNOT_CONNECT_MS = 15_000;

/** What a tile says while a peer's media does not arrive. */
export const ARRIVAL_WORDS = {
  connecting: "Connecting…",
  failed: "Can't connect — check your network",
};

/** Roles that moderate a room (the server's `MODERATORS`). */
export const MODERATORS = new Set(["host", "cohost"]);

/**
 * How a role is shown next to a name (plain participants: nothing).
 * @param {Peer["role"]} role
 */
export function roleName(role) {
  return { host: "Host", cohost: "Cohost", participant: "", guest: "Guest" }[role] || "";
}

export class Tile {
  /**
   * @param {string} id
   * @param {boolean} self
   * @param {() => void} [onPin] pins (or unpins) this peer large; our own tile has none
   */
  constructor(id, self, onPin) {
    this.video = h("video", { autoplay: true, playsinline: true, muted: self });
    this.name = h("span", { class: "name" });
    this.indicators = h("span", { class: "indicators" });
    this.quality = h("span", { class: "quality", "data-quality": "unknown", title: "Connection quality" }, signalBars("unknown", "Connection quality not known yet"));
    this.arrival = h("p", { class: "tile-status", hidden: true });
    /** the person's avatar, shown while their camera is off (the name is in the caption) */
    this.picture = /** @type {HTMLImageElement} */ (h("img", { class: "tile-avatar", alt: "", hidden: true, decoding: "async" }));
    // A picture that fails to load (removed since) leaves the name in its place.
    this.picture.addEventListener("error", () => {
      this.picture.dataset.failed = this.picture.getAttribute("src") || "";
      this.picture.hidden = true;
      this.element.classList.remove("has-avatar");
    });
    /** since when this tile waits for the peer's media (reset when it arrives) */
    this.waitingSince = Date.now();
    this.element = h(
      "figure",
      { class: self ? "tile self" : "tile", "data-peer-id": id, "data-self": self },
      this.video,
      this.picture,
      this.arrival,
      h("figcaption", {}, this.name, this.indicators, self ? null : this.quality),
    );
    /** @type {HTMLButtonElement | null} */
    this.pin = onPin ? h("button", { type: "button", class: "pin", "aria-pressed": "false", onclick: onPin }, "Pin") : null;
    if (this.pin) this.element.append(this.pin);
  }

  /**
   * @param {Peer} peer
   * @param {boolean} self
   */
  update(peer, self) {
    const role = roleName(peer.role);
    this.name.textContent = `${peer.display_name}${self ? " (you)" : ""}${role ? ` · ${role}` : ""}`;
    this.element.dataset.peerName = peer.display_name;
    this.pin?.setAttribute("aria-label", `Pin ${peer.display_name}`);
    this.element.dataset.audio = String(peer.media.audio);
    this.element.dataset.video = String(peer.media.video);
    this.element.dataset.hand = String(peer.hand);
    this.element.classList.toggle("camera-off", !peer.media.video);
    this.element.classList.toggle("away", peer.connected === false);
    this.showAvatar(peer.avatar && !peer.media.video ? peer.avatar : null);
    this.indicators.replaceChildren(
      peer.media.audio ? "" : h("span", { class: "muted-mic", title: "Microphone off" }, icon("mic-off", "Microphone off")),
      peer.hand ? h("span", { class: "hand", title: "Hand raised" }, icon("hand", "Hand raised")) : "",
      peer.connected === false ? h("span", { class: "reconnecting", title: "Reconnecting" }, icon("reconnecting", "Reconnecting")) : "",
    );
  }

  /**
   * The avatar in place of the camera, or nothing (the name stays drawn in the middle).
   * @param {string | null} path a same-origin path the server built (`Peer.avatar`)
   */
  showAvatar(path) {
    if (path && !path.startsWith("/api/")) path = null; // only ever Parley's own address
    if (path && this.picture.getAttribute("src") !== path) this.picture.src = path;
    const shown = path !== null && this.picture.dataset.failed !== path;
    this.picture.hidden = !shown;
    this.element.classList.toggle("has-avatar", shown);
  }

  /** @param {boolean} pinned */
  showPinned(pinned) {
    if (!this.pin) return;
    // One name whatever the state ("Pin Ben"), pressed while pinned.
    this.pin.setAttribute("aria-pressed", String(pinned));
  }

  /**
   * Whether the peer's media arrives: nothing said when it does (or when they send nothing),
   * "Connecting…" while it has not, and after a while that it cannot connect.
   * @param {boolean} sending the peer says it sends audio or video
   * @param {boolean} arriving some of it reached us
   */
  showArrival(sending, arriving) {
    if (arriving || !sending) this.waitingSince = Date.now();
    const waited = Date.now() - this.waitingSince;
    const state = arriving || !sending || waited < CONNECTING_AFTER_MS ? "" : waited > CANNOT_CONNECT_MS ? "failed" : "connecting";
    if (this.element.dataset.arrival === state) return;
    this.element.dataset.arrival = state;
    this.arrival.hidden = state === "";
    this.arrival.textContent = state ? ARRIVAL_WORDS[state] : "";
  }

  /**
   * Connection quality as signal bars, with the words for screen readers and the tooltip.
   * @param {"good" | "fair" | "poor" | "unknown"} level
   * @param {number | null} rttMs
   */
  showQuality(level, rttMs) {
    const words = level === "unknown" ? "Connection quality not known yet" : `Connection: ${level}${rttMs !== null ? `, ${Math.round(rttMs)} ms` : ""}`;
    if (this.quality.dataset.quality === level && this.quality.title === words) return;
    this.quality.dataset.quality = level;
    this.quality.title = words;
    this.quality.replaceChildren(signalBars(level, words));
  }
}
