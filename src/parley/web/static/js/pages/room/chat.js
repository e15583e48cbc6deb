// @ts-check
/**
 * The room's chat: its panel, the log (history from the welcome, then live messages), the
 * recipient picker and the unread count on the Chat button.
 * @module pages/room/chat
 */
import { h } from "../../ui.js";

/**
 * @typedef {import("../../protocol.js").ChatMessage} ChatMessage
 * @typedef {import("../room.js").Room} Room
 */

export class Chat {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    this.unread = 0;
    this.log = h("ol", { class: "chat-log", id: "chat-log", "aria-live": "polite" });
    this.to = h("select", { id: "chat-to", "aria-label": "Send to" });
    this.text = h("input", { id: "chat-text", name: "text", maxlength: 4000, autocomplete: "off", placeholder: "Message", "aria-label": "Message" });
    this.sendButton = h("button", { type: "submit" }, "Send");
    const form = h("form", { class: "chat-form", id: "chat-form" }, this.to, this.text, this.sendButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.text.value.trim();
      if (!text) return;
      const to = this.to.value;
      this.room.connection.send(to ? { type: "chat", text, to } : { type: "chat", text });
      this.text.value = "";
    });
    this.panel = h("aside", { class: "panel", id: "chat-panel", hidden: true, "aria-label": "Chat" }, h("h2", {}, "Chat"), this.log, form);
    /** Shown on the control bar's Chat button. */
    this.badge = h("span", { class: "badge count", hidden: true, "aria-label": "unread messages" });
  }

  listen() {
    this.room.connection.on("chat", (message) => this.add(message, true));
  }

  /**
   * @param {ChatMessage} message
   * @param {boolean} fresh counts as unread when the chat is closed
   */
  add(message, fresh) {
    const self = this.room.self;
    const mine = message.from === self.id;
    const privateTo = message.to ? (message.to === self.id ? "to you" : `to ${this.room.peers.get(message.to)?.display_name || "someone"}`) : "";
    this.log.append(h("li", { class: mine ? "mine" : "", "data-private": String(Boolean(message.to)), "data-from": message.from },
      h("span", { class: "from" }, mine ? "You" : message.from_name, privateTo ? ` (private, ${privateTo})` : ""),
      h("time", { datetime: message.ts }, new Date(message.ts).toLocaleTimeString(undefined, { timeStyle: "short" })),
      h("p", { class: "text" }, message.text)));
    this.log.scrollTop = this.log.scrollHeight;
    if (fresh && !mine && this.panel.hidden) {
      this.unread += 1;
      this.badge.textContent = String(this.unread);
      this.badge.hidden = false;
    }
  }

  /**
   * The whole log again, from the server's history (after a rejoin: a new entry's welcome).
   * @param {ChatMessage[]} history
   */
  replay(history) {
    this.log.replaceChildren();
    for (const message of history) this.add(message, false);
  }

  /** The panel was opened: everything is read. */
  opened() {
    this.unread = 0;
    this.badge.hidden = true;
    this.text.focus();
  }

  /**
   * The meeting's settings may switch chat off for non-hosts (and on again) at any time.
   * @param {boolean} allowed
   */
  allow(allowed) {
    this.text.disabled = !allowed;
    this.to.disabled = !allowed;
    this.sendButton.disabled = !allowed;
    this.text.placeholder = allowed ? "Message" : "Only hosts can chat in this meeting";
  }

  /** "Everyone", then each peer for a private message (keeping the current choice). */
  renderTargets() {
    const current = this.to.value;
    this.to.replaceChildren(
      h("option", { value: "" }, "Everyone"),
      ...[...this.room.peers.values()].map((p) => h("option", { value: p.id, selected: p.id === current }, `${p.display_name} (private)`)),
    );
  }
}
