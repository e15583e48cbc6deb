// @ts-check
/**
 * One tile of the room's grid: a participant's camera, name and indicators.
 * @module pages/room/tile
 */
import { h } from "../../ui.js";

/** @typedef {import("../../protocol.js").Peer} Peer */

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
   */
  constructor(id, self) {
    this.video = h("video", { autoplay: true, playsinline: true, muted: self });
    this.name = h("span", { class: "name" });
    this.indicators = h("span", { class: "indicators" });
    this.quality = h("span", { class: "quality", "data-quality": "unknown", title: "Connection quality" });
    this.element = h(
      "figure",
      { class: self ? "tile self" : "tile", "data-peer-id": id, "data-self": self },
      this.video,
      h("figcaption", {}, this.name, this.indicators, self ? null : this.quality),
    );
  }

  /**
   * @param {Peer} peer
   * @param {boolean} self
   */
  update(peer, self) {
    const role = roleName(peer.role);
    this.name.textContent = `${peer.display_name}${self ? " (you)" : ""}${role ? ` · ${role}` : ""}`;
    this.element.dataset.peerName = peer.display_name;
    this.element.dataset.audio = String(peer.media.audio);
    this.element.dataset.video = String(peer.media.video);
    this.element.dataset.hand = String(peer.hand);
    this.element.classList.toggle("camera-off", !peer.media.video);
    this.element.classList.toggle("away", peer.connected === false);
    this.indicators.replaceChildren(
      peer.media.audio ? "" : h("span", { class: "muted-mic", title: "Microphone off", "aria-label": "microphone off" }, "🔇"),
      peer.hand ? h("span", { class: "hand", title: "Hand raised", "aria-label": "hand raised" }, "✋") : "",
      peer.connected === false ? h("span", { title: "Reconnecting" }, "⟳") : "",
    );
  }
}
