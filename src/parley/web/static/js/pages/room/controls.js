// @ts-check
/**
 * The room's control bar: microphone, camera, screen, hand, reactions, the Chat and
 * Participants panels, recording and Leave; and the keyboard shortcuts (m, v). While a host
 * holds our microphone or camera off, its toggle says so and does not turn it on.
 *
 * Leave, for a host or cohost, asks first ("Leave" or "End for all"); anyone else leaves at once.
 * While no host or cohost is in the room, a notice at the top says so (a live region).
 * @module pages/room/controls
 */
import { mediaErrorText } from "../../media.js";
import { REACTION_NAMES, icon, reactionFace } from "../../icons.js";
import { REACTIONS } from "../../protocol.js";
import { h, toast } from "../../ui.js";
import { MODERATORS } from "./tile.js";

/** @typedef {import("../room.js").Room} Room */

/** Why a toggle does not turn on while a host holds it off. */
/** What the room says while no host or cohost is in it. */
export const NO_HOST_WORDS = {
  notYet: "The host has not joined yet",
  gone: "No host is in the meeting now",
};

export const HELD_WORDS = {
  audio: "A host muted you. You can unmute when a host allows it.",
  video: "A host turned off your camera. You can start it when a host allows it.",
};

/**
 * A control's face: its icon and its words, keeping the badge it carries (the chat's unread
 * count).
 * @param {HTMLButtonElement} button
 * @param {string} label
 * @param {import("../../icons.js").IconName} [iconName]
 */
function setFace(button, label, iconName) {
  const badge = button.querySelector(".badge");
  const shown = button.querySelector(".control-label");
  const current = button.querySelector("svg.icon");
  if (shown && shown.textContent === label && (!iconName || current?.classList.contains(`icon-${iconName}`))) return;
  const face = iconName ? icon(iconName) : current;
  button.replaceChildren(...(face ? [face] : []), h("span", { class: "control-label" }, label));
  if (badge) button.append(badge);
}

/**
 * A toggle with one name whatever its state (Chat): `aria-pressed` says whether it is on.
 * @param {HTMLButtonElement} button
 * @param {boolean} on
 * @param {string} label
 */
export function setPressed(button, on, label) {
  button.setAttribute("aria-pressed", String(on));
  setFace(button, label);
}

/**
 * A toggle whose name says what a press does next ("Mute", "Unmute"): it carries no
 * `aria-pressed` (a "Mute" button announced as pressed reads as muted, the reverse of the
 * truth); `data-on` says whether the thing is on, for the styles and the tests.
 * @param {HTMLButtonElement} button
 * @param {boolean} on
 * @param {string} label
 * @param {import("../../icons.js").IconName} iconName
 */
export function setAction(button, on, label, iconName) {
  button.removeAttribute("aria-pressed");
  button.dataset.on = String(on);
  setFace(button, label, iconName);
}

/**
 * A toggle a host holds off: announced as unavailable, with the reason as its description and
 * tooltip; it stays focusable (a press says why instead of turning it on).
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} why the hidden element that says why
 * @param {boolean} held
 */
function holdOff(button, why, held) {
  if (held) {
    button.setAttribute("aria-disabled", "true");
    button.setAttribute("aria-describedby", why.id);
    button.title = why.textContent || "";
  } else {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-describedby");
    button.title = "";
  }
  button.style.opacity = held ? "0.5" : "";
  button.style.cursor = held ? "not-allowed" : "";
}

export class Controls {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    this.mic = this.button("mic", "Microphone", () => this.toggleAudio());
    this.cam = this.button("cam", "Camera", () => this.toggleVideo());
    this.screen = this.button("screen", "Share screen", () => void this.toggleScreen());
    this.hand = this.button("hand", "Raise hand", () => this.toggleHand());
    this.reactionMenu = h("div", { class: "reactions", hidden: true, role: "menu" },
      ...REACTIONS.map((emoji) => h("button", { type: "button", role: "menuitem", "aria-label": `React: ${REACTION_NAMES[emoji] || emoji}`, onclick: () => { room.connection.send({ type: "reaction", emoji }); this.reactionMenu.hidden = true; } }, reactionFace(emoji))));
    const react = this.button("react", "Reactions", () => { this.reactionMenu.hidden = !this.reactionMenu.hidden; }, "smile");
    this.react = react;
    this.chat = this.button("chat", "Chat", () => this.togglePanel(room.chat.panel), "chat");
    this.chat.append(room.chat.badge);
    this.peopleToggle = this.button("people", "Participants", () => this.togglePanel(room.people.panel), "people");
    const people = this.peopleToggle;
    people.append(room.people.notice.count); // how many wait in the lobby (hosts and cohosts)
    for (const panelToggle of [this.chat, people]) panelToggle.setAttribute("aria-pressed", "false");
    this.record = this.button("record", "Record", () => void room.recording.toggle());
    this.leave = h("button", { type: "button", class: "danger", id: "leave", onclick: () => this.askLeave() }, icon("leave"), h("span", { class: "control-label" }, "Leave"));
    const leave = this.leave;
    this.leaveDialog = this.leaveChoice();
    // Shown while no host or cohost is in the room (mounted in the room's header on first refresh).
    this.hostNotice = h("div", { id: "host-absent", role: "status" });
    this.hostSeen = false;
    // The toggles' descriptions while held (hidden, read out with the button).
    this.micHeld = h("span", { id: "control-mic-held", hidden: true }, HELD_WORDS.audio);
    this.camHeld = h("span", { id: "control-cam-held", hidden: true }, HELD_WORDS.video);
    // On a phone the secondary controls fold into "More" (one row of icons stays).
    this.more = h("button", { type: "button", id: "control-more", class: "control", "aria-expanded": "false", "aria-controls": "meeting-controls", onclick: () => this.toggleMore() }, icon("more"), h("span", { class: "control-label" }, "More"));
    for (const secondary of [this.screen, this.record, room.layout.choice, room.layout.selfView]) secondary.classList.add("secondary");
    this.element = h("div", { class: "controls", id: "meeting-controls", role: "toolbar", "aria-label": "Meeting controls" },
      this.micHeld, this.camHeld, this.mic, this.cam, this.screen, this.hand,
      h("div", { class: "react-wrap secondary" }, react, this.reactionMenu), this.chat, people, this.record,
      room.layout.choice, room.layout.selfView, this.more, leave);
  }

  /**
   * The question a host or cohost gets on Leave: a modal dialog (focus inside, Escape or Cancel
   * closes it, focus back on Leave).
   * @returns {HTMLDialogElement}
   */
  leaveChoice() {
    const room = this.room;
    const close = () => dialog.close();
    const dialog = h("dialog", { id: "leave-dialog", class: "leave-dialog", "aria-labelledby": "leave-title", "aria-describedby": "leave-text" },
      h("h2", { id: "leave-title" }, "Leave the meeting?"),
      h("p", { id: "leave-text" }, "The meeting can go on without you, or end for everyone."),
      h("div", { class: "row-actions" },
        h("button", { type: "button", class: "primary", id: "leave-only", onclick: () => { close(); room.leave(); } }, "Leave"),
        h("button", { type: "button", class: "danger", id: "leave-end", onclick: () => { close(); room.connection.send({ type: "end" }); } }, "End for all"),
        h("button", { type: "button", id: "leave-cancel", onclick: close }, "Cancel")));
    dialog.addEventListener("close", () => { if (this.leave.isConnected) this.leave.focus(); });
    return dialog;
  }

  /** Leave: hosts and cohosts choose between leaving and ending for all; others just leave. */
  askLeave() {
    const room = this.room;
    if (!room.moderator) {
      room.leave();
      return;
    }
    // Hosts and cohosts may end the meeting (the server's rule), so both are offered it.
    if (!this.leaveDialog.isConnected) room.element.append(this.leaveDialog);
    this.leaveDialog.showModal();
    /** @type {HTMLButtonElement} */ (this.leaveDialog.querySelector("#leave-only")).focus();
  }

  /** The notice while no host or cohost is in the room, from the peers' roles. */
  showHostNotice() {
    const room = this.room;
    const present = room.moderator || [...room.peers.values()].some((peer) => MODERATORS.has(peer.role));
    if (present) this.hostSeen = true;
    const text = present ? "" : this.hostSeen ? NO_HOST_WORDS.gone : NO_HOST_WORDS.notYet;
    if (!this.hostNotice.isConnected) {
      if (!room.element?.isConnected) return; // not mounted yet, or the room is closed
      // A live region is there, empty, before it speaks: the words come a moment later.
      room.element.querySelector(".room-top")?.append(this.hostNotice);
      setTimeout(() => this.showHostNotice(), 100);
      return;
    }
    // The region stays; its words come and go (a hidden live region is not read out).
    if (this.hostNotice.textContent !== text) this.hostNotice.replaceChildren(...(text ? [h("span", { class: "banner" }, text)] : []));
  }

  /**
   * A button of the control bar (its state, if it has one, set by `refresh`).
   * @param {string} id
   * @param {string} label
   * @param {() => void} action
   * @param {import("../../icons.js").IconName} [iconName]
   */
  button(id, label, action, iconName) {
    return h("button", { type: "button", id: `control-${id}`, class: "control", onclick: action }, iconName ? icon(iconName) : null, h("span", { class: "control-label" }, label));
  }

  /**
   * Keyboard shortcuts while in the room (not while typing).
   * @returns {() => void} removes them
   */
  shortcuts() {
    const keys = (/** @type {KeyboardEvent} */ event) => {
      if (event.key === "Escape") {
        this.escape();
        return;
      }
      const target = /** @type {HTMLElement} */ (event.target);
      if (event.ctrlKey || event.metaKey || event.altKey || target.closest("input, textarea, select")) return;
      if (event.key === "m") this.toggleAudio();
      if (event.key === "v") this.toggleVideo();
    };
    document.addEventListener("keydown", keys);
    return () => document.removeEventListener("keydown", keys);
  }

  /** Redraw the toggles from the room's state. */
  refresh() {
    const room = this.room;
    const { audio, video } = room.media.state();
    setAction(this.mic, audio, audio ? "Mute (m)" : "Unmute (m)", audio ? "mic" : "mic-off");
    setAction(this.cam, video, video ? "Stop camera (v)" : "Start camera (v)", video ? "camera" : "camera-off");
    holdOff(this.mic, this.micHeld, room.isHeld("audio") && !audio);
    holdOff(this.cam, this.camHeld, room.isHeld("video") && !video);
    setAction(this.screen, room.media.screen !== null, room.media.screen ? "Stop sharing" : "Share screen", "screen");
    setAction(this.hand, room.self.hand, room.self.hand ? "Lower hand" : "Raise hand", "hand");
    const allowed = room.allowed;
    this.screen.disabled = !allowed.screen && !room.media.screen;
    this.screen.title = allowed.screen ? "" : "Screen sharing is off in this meeting";
    this.record.hidden = !room.moderator;
    if (!room.moderator && this.leaveDialog.open) this.leaveDialog.close();
    this.showHostNotice();
    setAction(this.record, room.recording.active, room.recording.active ? "Stop recording" : "Record", "record");
  }

  /** Escape closes the reactions picker, the More controls or the open side panel (a modal
   * dialog closes itself), and focus goes back to the control that opened it. */
  escape() {
    if (document.querySelector("dialog[open]")) return;
    const room = this.room;
    if (!this.reactionMenu.hidden) {
      this.reactionMenu.hidden = true;
      this.react.focus();
      return;
    }
    /** @type {Array<[HTMLElement | undefined, HTMLElement | undefined]>} */
    const panels = [[room.chat.panel, this.chat], [room.people.panel, this.peopleToggle], [room.polls?.panel, room.polls?.button], [room.breakouts?.panel, room.breakouts?.button]];
    for (const [panel, toggle] of panels) {
      if (!panel || panel.hidden) continue;
      if (toggle === room.polls?.button) room.polls.setOpen(false);
      else if (toggle === room.breakouts?.button) room.breakouts.setOpen(false);
      else this.togglePanel(panel);
      toggle?.focus();
      return;
    }
    if (this.element.classList.contains("more-open")) {
      this.toggleMore();
      this.more.focus();
    }
  }

  toggleMore() {
    const open = !this.element.classList.contains("more-open");
    this.element.classList.toggle("more-open", open);
    this.more.setAttribute("aria-expanded", String(open));
  }

  /**
   * Open a side panel (closing the other), or close it.
   * @param {HTMLElement} panel
   */
  togglePanel(panel) {
    const { chat, people } = this.room;
    const open = panel.hidden;
    chat.panel.hidden = true;
    people.panel.hidden = true;
    panel.hidden = !open;
    setPressed(this.chat, !chat.panel.hidden, "Chat");
    setPressed(this.peopleToggle, !people.panel.hidden, "Participants");
    if (panel === chat.panel && open) chat.opened();
    if (panel === people.panel && open) /** @type {HTMLElement | null} */ (people.panel.querySelector("h2"))?.focus();
  }

  toggleAudio() {
    const room = this.room;
    if (room.isHeld("audio") && !room.media.state().audio) {
      toast(HELD_WORDS.audio, "error");
      return;
    }
    if (!room.media.audioTrack) {
      void room.askForDevice("audio");
      return;
    }
    room.media.setAudio(!room.media.audioTrack.enabled);
    room.sendMediaState();
    room.refresh();
  }

  toggleVideo() {
    const room = this.room;
    if (room.isHeld("video") && !room.media.state().video) {
      toast(HELD_WORDS.video, "error");
      return;
    }
    if (!room.media.videoTrack) {
      void room.askForDevice("video");
      return;
    }
    room.media.setVideo(!room.media.videoTrack.enabled);
    room.sendMediaState();
    room.refresh();
  }

  async toggleScreen() {
    const room = this.room;
    if (room.media.screen) {
      room.mesh.stopScreen();
    } else {
      try {
        await room.mesh.startScreen();
      } catch (error) {
        if (!(error instanceof DOMException && error.name === "NotAllowedError")) toast(mediaErrorText(error), "error");
        return;
      }
    }
    room.sendMediaState();
    room.updateStage();
    room.refresh();
  }

  toggleHand() {
    const room = this.room;
    room.self.hand = !room.self.hand;
    room.connection.send({ type: "hand", raised: room.self.hand });
    room.refresh();
  }
}
