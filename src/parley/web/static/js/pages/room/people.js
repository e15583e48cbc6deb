// @ts-check
/**
 * The room's participants panel: who is in, who waits in the lobby, and the host's tools
 * (mute, stop video, allow to unmute, remove, cohost, admit, deny, lock, end for all).
 * @module pages/room/people
 */
import { h, toast } from "../../ui.js";
import { MODERATORS, roleName } from "./tile.js";

/**
 * @typedef {import("../../protocol.js").Peer} Peer
 * @typedef {import("../room.js").Room} Room
 */

export class People {
  /**
   * @param {Room} room
   * @param {Peer[]} lobby who waits now (the welcome's `lobby`: hosts and cohosts only)
   */
  constructor(room, lobby) {
    this.room = room;
    /** @type {Map<string, Peer>} */
    this.lobby = new Map(lobby.map((p) => [p.id, p]));
    this.list = h("ul", { class: "people", id: "people" });
    this.lobbyList = h("ul", { class: "people", id: "lobby" });
    this.lobbySection = h("section", { hidden: true }, h("h3", {}, "Waiting to join"), this.lobbyList);
    this.roomActions = h("div", { class: "row-actions", hidden: !room.moderator });
    this.panel = h("aside", { class: "panel", id: "people-panel", hidden: true, "aria-label": "Participants" }, h("h2", {}, "Participants"), this.lobbySection, this.list, this.roomActions);
  }

  listen() {
    const c = this.room.connection;
    c.on("lobby-request", ({ participant }) => {
      this.lobby.set(participant.id, participant);
      toast(`${participant.display_name} is waiting to join.`);
      this.room.refresh();
    });
    c.on("lobby-left", ({ peer }) => {
      this.lobby.delete(peer);
      this.room.refresh();
    });
    c.on("lobby", ({ lobby }) => {
      this.lobby = new Map(lobby.map((/** @type {Peer} */ p) => [p.id, p]));
      this.room.refresh();
    });
  }

  render() {
    const room = this.room;
    const send = room.connection.send.bind(room.connection);
    const moderator = room.moderator;
    const row = (/** @type {Peer} */ peer, /** @type {boolean} */ self) => {
      const actions = h("span", { class: "row-actions" });
      const held = peer.held || [];
      if (moderator && !self && peer.role !== "host") {
        // Without self-unmute, muting someone already muted still holds them muted.
        const holds = room.room.settings?.allow_self_unmute === false && !MODERATORS.has(peer.role);
        const offAlready = (/** @type {"audio"|"video"} */ kind) => !peer.media[kind] && (!holds || held.includes(kind));
        actions.append(
          h("button", { type: "button", "data-action": "mute", disabled: offAlready("audio"), onclick: () => send({ type: "mute", peer: peer.id }) }, "Mute"),
          h("button", { type: "button", "data-action": "stop-video", disabled: offAlready("video"), onclick: () => send({ type: "stop-video", peer: peer.id }) }, "Stop video"),
        );
        if (held.length > 0) {
          const what = held.length === 2 ? "microphone and camera" : held[0] === "audio" ? "microphone" : "camera";
          actions.append(h("button", { type: "button", "data-action": "allow-unmute", title: `Let ${peer.display_name} turn their ${what} on again`,
            onclick: () => send({ type: "allow-unmute", peer: peer.id, kinds: held }) }, held.includes("audio") ? "Allow to unmute" : "Allow camera"));
        }
        actions.append(
          h("button", { type: "button", class: "danger", "data-action": "remove", onclick: () => {
            if (window.confirm(`Remove ${peer.display_name}? They cannot come back.`)) send({ type: "remove", peer: peer.id });
          } }, "Remove"),
        );
        if (peer.role !== "guest") {
          const next = peer.role === "cohost" ? "participant" : "cohost";
          actions.append(h("button", { type: "button", "data-action": "role", onclick: () => send({ type: "role", peer: peer.id, role: next }) }, next === "cohost" ? "Make cohost" : "Remove cohost"));
        }
      }
      return h("li", { "data-peer-id": peer.id },
        h("span", {}, peer.display_name, self ? " (you)" : "", roleName(peer.role) ? ` · ${roleName(peer.role)}` : "", peer.media.audio ? "" : " 🔇", peer.hand ? " ✋" : "",
          held.includes("audio") ? " · muted by a host" : "", held.includes("video") ? " · camera stopped by a host" : ""),
        actions);
    };
    this.list.replaceChildren(row(room.self, true), ...[...room.peers.values()].map((p) => row(p, false)));
    this.lobbySection.hidden = !moderator || this.lobby.size === 0;
    this.lobbyList.replaceChildren(...[...this.lobby.values()].map((p) => h("li", { "data-peer-id": p.id },
      h("span", {}, p.display_name, roleName(p.role) ? ` · ${roleName(p.role)}` : ""),
      h("span", { class: "row-actions" },
        h("button", { type: "button", class: "primary", "data-action": "admit", onclick: () => send({ type: "admit", peer: p.id }) }, "Admit"),
        h("button", { type: "button", "data-action": "deny", onclick: () => send({ type: "deny", peer: p.id }) }, "Deny")))));
    this.roomActions.hidden = !moderator;
    this.roomActions.replaceChildren(
      h("button", { type: "button", id: "lock", onclick: () => send({ type: "lock", locked: !room.room.locked }) }, room.room.locked ? "Unlock meeting" : "Lock meeting"),
      h("button", { type: "button", class: "danger", id: "end-for-all", onclick: () => {
        if (window.confirm("End the meeting for everyone?")) send({ type: "end" });
      } }, "End for all"),
    );
  }
}
