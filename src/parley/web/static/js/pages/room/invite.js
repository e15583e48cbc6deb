// @ts-check
/**
 * Inviting people from inside the room: the Invite button in the control bar opens a small
 * dialog with the meeting's link and code, "Copy link" and "Copy invitation" (title, link,
 * code, and "Password: ask the host" when the meeting has one — never the password itself);
 * what was copied is said in a live region. Escape or Close shuts it and the focus goes back
 * to the button.
 *
 * The host who has just created an instant meeting on the dashboard also gets a dismissible
 * "Your meeting is ready" card with the same link and buttons, once: the dashboard leaves the
 * new meeting's id in this tab's session storage ({@link markNewMeeting}), and the room takes
 * it away the first time it shows the card.
 *
 * Mounts its own button, dialog and card into the room's elements (the control bar is not
 * edited for it), like `polls.js`.
 * @module pages/room/invite
 */
import { h } from "../../ui.js";

/** @typedef {import("../room.js").Room} Room */

const STYLESHEET = "/static/css/invite.css";
const NEW_MEETING_KEY = "parley:new-meeting";

/**
 * Remember, in this tab, that its signed-in person has just created this meeting (the room
 * then greets them with the "Your meeting is ready" card).
 * @param {string} meetingId
 */
export function markNewMeeting(meetingId) {
  try {
    sessionStorage.setItem(NEW_MEETING_KEY, meetingId);
  } catch {
    // Storage refused (private mode, quota): the card is a nicety, the meeting works without it.
  }
}

/**
 * Whether this tab has just created this meeting; the mark is taken away (shown once).
 * @param {string} meetingId
 * @returns {boolean}
 */
function takeNewMeeting(meetingId) {
  try {
    if (sessionStorage.getItem(NEW_MEETING_KEY) !== meetingId) return false;
    sessionStorage.removeItem(NEW_MEETING_KEY);
    return true;
  } catch {
    return false;
  }
}

/** The module's own stylesheet, added once (app.css stays as it is). */
function useStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLESHEET }));
}

/**
 * The text of an invitation: what someone needs to join, and nothing secret.
 * @param {{title: string, link: string, code: string, hasPassword: boolean}} meeting
 * @returns {string}
 */
export function invitationText({ title, link, code, hasPassword }) {
  const lines = [`You are invited to a Parley meeting: ${title}`, "", `Join: ${link}`, `Meeting code: ${code}`];
  if (hasPassword) lines.push("Password: ask the host");
  return lines.join("\n");
}

/**
 * Put text on the clipboard.
 * @param {string} text
 * @returns {Promise<boolean>} whether it worked
 */
async function toClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

let boxes = 0;

export class Invite {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    const meeting = /** @type {{id: string, title: string, has_password?: boolean}} */ (room.options.meeting);
    this.meeting = {
      title: meeting.title,
      code: room.options.code,
      link: new URL(`/m/${room.options.code}`, location.origin).href,
      hasPassword: Boolean(meeting.has_password),
    };
    useStylesheet();
    this.button = h("button", {
      type: "button", id: "control-invite", class: "control", "aria-haspopup": "dialog", "aria-expanded": "false",
      "aria-controls": "invite-dialog", onclick: () => this.setOpen(this.dialog.hidden),
    }, "Invite");
    const heading = "invite-title";
    this.dialog = h("div", { class: "invite-dialog", id: "invite-dialog", role: "dialog", "aria-labelledby": heading, hidden: true },
      h("h2", { id: heading }, "Invite people"),
      ...this.details("dialog"),
      h("div", { class: "invite-close" }, h("button", { type: "button", onclick: () => this.setOpen(false) }, "Close")));
    this.dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      this.setOpen(false);
    });
    const leave = room.controls.element.querySelector("#leave");
    room.controls.element.insertBefore(this.button, leave);
    room.element.append(this.dialog);
    if (room.self.role === "host" && takeNewMeeting(meeting.id)) this.showReady();
  }

  /**
   * The link, the code, the two copy buttons and a live region saying what was copied.
   * @param {string} where a prefix for ids ("dialog" or "ready")
   * @returns {HTMLElement[]}
   */
  details(where) {
    const id = `invite-link-${where}-${(boxes += 1)}`;
    const input = /** @type {HTMLInputElement} */ (h("input", { id, class: "invite-link", type: "text", readonly: true, value: this.meeting.link }));
    input.addEventListener("focus", () => input.select());
    const said = h("p", { class: "invite-said", role: "status", "aria-live": "polite" });
    /**
     * @param {string} text
     * @param {string} done what the live region says when it worked
     */
    const copyThis = async (text, done) => {
      said.textContent = "";
      if (await toClipboard(text)) {
        said.textContent = done;
      } else {
        input.focus();
        input.select();
        said.textContent = "Could not copy: the link is selected, copy it yourself.";
      }
    };
    return [
      h("div", { class: "field" }, h("label", { for: id }, "Meeting link"), input),
      h("p", { class: "invite-code" }, "Meeting code: ", h("strong", { "data-code": this.meeting.code }, this.meeting.code)),
      this.meeting.hasPassword ? h("p", { class: "invite-hint muted" }, "This meeting has a password: the invitation says to ask you for it.") : null,
      h("div", { class: "invite-actions" },
        h("button", { type: "button", class: "primary", onclick: () => void copyThis(this.meeting.link, "Link copied") }, "Copy link"),
        h("button", { type: "button", onclick: () => void copyThis(invitationText(this.meeting), "Invitation copied") }, "Copy invitation")),
      said,
    ].filter((node) => node !== null).map((node) => /** @type {HTMLElement} */ (node));
  }

  /**
   * Open or close the dialog; opening puts the focus on its first button, closing back on Invite.
   * @param {boolean} open
   */
  setOpen(open) {
    this.dialog.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      /** @type {HTMLElement | null} */ (this.dialog.querySelector(".invite-actions button"))?.focus();
    } else {
      for (const said of this.dialog.querySelectorAll(".invite-said")) said.textContent = "";
      this.button.focus();
    }
  }

  /** The host's "Your meeting is ready" card (a new instant meeting, first entry). */
  showReady() {
    const heading = "invite-ready-title";
    const dismiss = () => {
      card.remove();
      this.button.focus();
    };
    const card = h("section", { class: "invite-ready", id: "invite-ready", "aria-labelledby": heading },
      h("h2", { id: heading }, "Your meeting is ready"),
      h("p", {}, "Share this link with the people you want to meet."),
      ...this.details("ready"),
      h("div", { class: "invite-close" }, h("button", { type: "button", onclick: dismiss }, "Dismiss")));
    card.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      dismiss();
    });
    this.ready = card;
    this.room.element.append(card);
  }
}
