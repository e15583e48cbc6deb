// @ts-check
/**
 * The room's participants panel: who is in, who waits in the lobby, the raised hands in the
 * order they went up, and the host's tools (mute, mute all, stop video, allow to unmute,
 * remove, cohost, admit, deny, lower a hand or all, lock, end for all); a search above the
 * list once more than ten people are in.
 * @module pages/room/people
 */
import { icon } from "../../icons.js";
import { h } from "../../ui.js";
import { LobbyNotice } from "./lobby.js";
import { MODERATORS, roleName } from "./tile.js";

/** From how many people on the panel offers a search. */
export const SEARCH_FROM = 11;

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
    this.handList = h("ol", { class: "people", id: "hands" });
    this.lowerAll = h("button", { type: "button", id: "lower-all-hands", onclick: () => room.connection.send({ type: "lower-hands" }) }, "Lower all hands");
    this.handSection = h("section", { hidden: true, "aria-label": "Raised hands" }, h("h3", {}, "Raised hands"), this.handList, this.lowerAll);
    this.search = h("input", { type: "search", id: "people-search", "aria-label": "Find a participant", placeholder: "Find a participant", oninput: () => this.render() });
    this.searchRow = h("div", { hidden: true }, this.search);
    this.roomActions = h("div", { class: "row-actions", hidden: !room.moderator });
    this.notice = new LobbyNotice(room);
    this.panel = h("aside", { class: "panel", id: "people-panel", hidden: true, "aria-label": "Participants" },
      h("h2", { tabindex: "-1" }, "Participants"), this.lobbySection, this.handSection, this.searchRow, this.list, this.roomActions);
  }

  listen() {
    const c = this.room.connection;
    c.on("lobby-request", ({ participant }) => {
      this.lobby.set(participant.id, participant);
      this.notice.knocked(participant);
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
        h("span", {}, peer.display_name, self ? " (you)" : "", roleName(peer.role) ? ` · ${roleName(peer.role)}` : "", peer.media.audio ? "" : h("span", { class: "status-icon", title: "Microphone off" }, icon("mic-off", "microphone off")),
          peer.hand ? h("span", { class: "status-icon", title: "Hand raised" }, icon("hand", "hand raised")) : "",
          held.includes("audio") ? " · muted by a host" : "", held.includes("video") ? " · camera stopped by a host" : ""),
        actions);
    };
    const everyone = [room.self, ...room.peers.values()];
    this.searchRow.hidden = everyone.length < SEARCH_FROM;
    const wanted = this.searchRow.hidden ? "" : this.search.value.trim().toLocaleLowerCase();
    const shown = everyone.filter((peer) => !wanted || peer.display_name.toLocaleLowerCase().includes(wanted));
    this.list.replaceChildren(...shown.map((peer) => row(peer, peer === room.self)));
    this.renderHands(everyone, moderator);
    this.notice.render();
    this.lobbySection.hidden = !moderator || this.lobby.size === 0;
    this.lobbyList.replaceChildren(...[...this.lobby.values()].map((p) => h("li", { "data-peer-id": p.id },
      h("span", {}, p.display_name, roleName(p.role) ? ` · ${roleName(p.role)}` : ""),
      h("span", { class: "row-actions" },
        h("button", { type: "button", class: "primary", "data-action": "admit", onclick: () => send({ type: "admit", peer: p.id }) }, "Admit"),
        h("button", { type: "button", "data-action": "deny", onclick: () => send({ type: "deny", peer: p.id }) }, "Deny")))));
    this.roomActions.hidden = !moderator;
    this.roomActions.replaceChildren(
      h("button", { type: "button", id: "mute-all", onclick: () => send({ type: "mute-all" }) }, "Mute all"),
      h("button", { type: "button", id: "lock", onclick: () => send({ type: "lock", locked: !room.room.locked }) }, room.room.locked ? "Unlock meeting" : "Lock meeting"),
      h("button", { type: "button", class: "danger", id: "end-for-all", onclick: () => {
        if (window.confirm("End the meeting for everyone?")) send({ type: "end" });
      } }, "End for all"),
    );
  }

  /**
   * The raised hands, the earliest first; hosts and cohosts may lower one or all.
   * @param {Peer[]} everyone
   * @param {boolean} moderator
   */
  renderHands(everyone, moderator) {
    const send = this.room.connection.send.bind(this.room.connection);
    const raised = everyone.filter((peer) => peer.hand).sort((a, b) => (a.hand_at ?? Infinity) - (b.hand_at ?? Infinity));
    this.handSection.hidden = raised.length === 0;
    this.lowerAll.hidden = !moderator || raised.length < 2;
    this.handList.replaceChildren(...raised.map((peer) => h("li", { "data-peer-id": peer.id },
      h("span", { class: "hand-name" }, peer.display_name, peer === this.room.self ? " (you)" : ""),
      moderator && peer !== this.room.self
        ? h("span", { class: "row-actions" }, h("button", { type: "button", "data-action": "lower-hand", "aria-label": `Lower hand for ${peer.display_name}`, onclick: () => send({ type: "lower-hand", peer: peer.id }) }, "Lower hand"))
        : "")));
  }
}
