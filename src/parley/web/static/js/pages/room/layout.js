// @ts-check
/**
 * How the room's tiles are laid out: a grid of equals, or the speaker's view (one person
 * large, the others in a strip: the active speaker, or whoever is pinned); one's own tile can
 * be hidden. The layout only sizes tiles: through the SFU each camera's simulcast layer follows
 * its tile's size (`plane.js`), so a large tile gets the high layer by itself.
 * @module pages/room/layout
 */
import { h } from "../../ui.js";

/** @typedef {import("../room.js").Room} Room */
/** @typedef {"grid" | "speaker"} LayoutName */

export class Layout {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** @type {LayoutName} */
    this.name = "grid";
    /** @type {string | null} the participant pinned large (any layout) */
    this.pinned = null;
    /** @type {string | null} who spoke last (besides us): the speaker's view shows them */
    this.lastSpeaker = null;
    this.selfHidden = false;
    this.choice = h("select", { id: "layout", class: "control-select", "aria-label": "Layout", onchange: () => this.choose(/** @type {LayoutName} */ (this.choice.value)) },
      h("option", { value: "grid" }, "Grid"),
      h("option", { value: "speaker" }, "Speaker"));
    this.selfView = h("button", { type: "button", id: "control-self-view", class: "control", onclick: () => this.toggleSelf() }, "Hide self view");
  }

  /** @param {LayoutName} name */
  choose(name) {
    this.name = name;
    this.choice.value = name;
    this.apply();
  }

  /**
   * Pin a participant large (or unpin them).
   * @param {string} peerId
   */
  togglePin(peerId) {
    this.pinned = this.pinned === peerId ? null : peerId;
    this.apply();
  }

  toggleSelf() {
    this.selfHidden = !this.selfHidden;
    this.selfView.textContent = this.selfHidden ? "Show self view" : "Hide self view";
    this.apply();
  }

  /** @param {string | null} peerId who is speaking now (null: nobody) */
  spoke(peerId) {
    if (!peerId || peerId === this.room.self.id || peerId === this.lastSpeaker) return;
    this.lastSpeaker = peerId;
    if (this.name === "speaker" && !this.pinned) this.apply();
  }

  /** @returns {string | null} the participant shown large, if any */
  featured() {
    const tiles = this.room.tiles;
    if (this.pinned && tiles.has(this.pinned)) return this.pinned;
    if (this.name !== "speaker") return null;
    if (this.lastSpeaker && tiles.has(this.lastSpeaker)) return this.lastSpeaker;
    return [...tiles.keys()].find((id) => id !== this.room.self.id) ?? null;
  }

  /** Put the tiles where the layout says. */
  apply() {
    const room = this.room;
    if (this.pinned && !room.tiles.has(this.pinned)) this.pinned = null;
    const featured = this.featured();
    room.grid.dataset.layout = featured ? "speaker" : "grid";
    for (const [id, tile] of room.tiles) {
      tile.element.classList.toggle("featured", id === featured);
      tile.element.hidden = id === room.self.id && this.selfHidden;
      tile.showPinned(id === this.pinned);
    }
  }
}
