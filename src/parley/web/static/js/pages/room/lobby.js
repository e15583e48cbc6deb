// @ts-check
/**
 * The lobby as a host can't miss it: a lasting notice at the top of the room ("Kim wants to
 * join — Admit / Deny", "Admit all" for several), a count on the Participants button and a
 * short sound when someone knocks. Only hosts and cohosts see it; it stays until everyone
 * waiting is admitted, denied or gone (a toast went away by itself, and people waited unseen).
 * @module pages/room/lobby
 */
import { h } from "../../ui.js";

/**
 * @typedef {import("../../protocol.js").Peer} Peer
 * @typedef {import("../room.js").Room} Room
 */

/** A short two-note chime (Web Audio: nothing to download); silent where audio is blocked. */
export function chime() {
  try {
    const context = new AudioContext();
    const gain = context.createGain();
    gain.gain.value = 0.08;
    gain.connect(context.destination);
    [660, 880].forEach((frequency, index) => {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(context.currentTime + index * 0.15);
      tone.stop(context.currentTime + index * 0.15 + 0.12);
    });
    setTimeout(() => void context.close(), 600);
  } catch {
    // no audio output: the notice and the count still say it
  }
}

export class LobbyNotice {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    this.element = h("section", { class: "lobby-notice", id: "lobby-notice", "aria-label": "Waiting to join", hidden: true });
    // Said once per knock (the notice itself is not a live region: it would repeat everything).
    this.announcer = h("p", { class: "visually-hidden", role: "status" });
    this.count = h("span", { class: "badge count", id: "lobby-count", hidden: true });
  }

  /** Someone knocked: the sound, and words for screen readers. @param {Peer} peer */
  knocked(peer) {
    chime();
    this.announcer.textContent = `${peer.display_name} wants to join.`;
  }

  /** Redraw from the room's lobby (hosts and cohosts only). */
  render() {
    const room = this.room;
    const waiting = room.moderator ? [...room.people.lobby.values()] : [];
    const send = room.connection.send.bind(room.connection);
    this.count.hidden = waiting.length === 0;
    this.count.textContent = String(waiting.length);
    this.count.setAttribute("aria-label", `${waiting.length} waiting to join`);
    this.element.hidden = waiting.length === 0;
    const rows = waiting.slice(0, 3).map((peer) => h("div", { class: "lobby-row", "data-peer-id": peer.id },
      h("span", {}, `${peer.display_name} wants to join`),
      h("button", { type: "button", class: "primary", "aria-label": `Admit ${peer.display_name}`, onclick: () => send({ type: "admit", peer: peer.id }) }, "Admit"),
      h("button", { type: "button", "aria-label": `Deny ${peer.display_name}`, onclick: () => send({ type: "deny", peer: peer.id }) }, "Deny")));
    const more = waiting.length > 3 ? h("span", {}, `and ${waiting.length - 3} more`) : null;
    const all = waiting.length > 1 ? h("button", { type: "button", class: "primary", id: "admit-all", onclick: () => send({ type: "admit-all" }) }, `Admit all (${waiting.length})`) : null;
    this.element.replaceChildren(...rows, ...(more ? [more] : []), ...(all ? [all] : []));
  }
}
