// @ts-check
/**
 * Breakout rooms in the room page.
 *
 * For hosts and cohosts, the Breakout rooms panel: how many rooms, how people are assigned
 * (automatically, by hand, or they choose), an optional time limit and whether people may come
 * back early; then who is where (a select per person moves them), Open, a message to every
 * room, Close (everyone comes back after a countdown they all see, or at once), and Join to
 * visit a room. For everyone in a breakout room, a bar with the room's name, the time left,
 * "Ask for help" and, where allowed, "Return to main room". For participants of a meeting whose
 * rooms are open for choosing, a card with the rooms to pick from.
 *
 * A breakout room is a meeting room of its own on the server (its own chat, participant list and
 * media): moving means leaving this room's media and socket and entering the other room's with
 * the ticket the server sent (`breakout-move`) or gave (`.../breakouts/{room}/join`,
 * `.../breakouts/return`). The page (`pages/meeting.js`) does the move: this module asks for it
 * through {@link RoomOptions.onMove}.
 *
 * State comes from meeting-service (`GET .../breakouts`, refreshed on `breakouts-updated`) and
 * the frames `breakout-move`, `breakout-return`, `breakout-closing`, `breakout-broadcast` and
 * `breakout-help`. Every call is made against the main meeting, with the main meeting's
 * participant id for a guest (no access token: their guest cookie and that id prove who they are).
 * @module pages/room/breakouts
 */
import { paths } from "../../api.js";
import { session } from "../../session.js";
import { errorLine, h, showError, toast } from "../../ui.js";

/**
 * @typedef {import("../room.js").Room} Room
 * @typedef {import("../../rejoin.js").Joined} Joined
 * @typedef {import("../../protocol.js").BreakoutRoomInfo} BreakoutRoomInfo
 * @typedef {import("../../protocol.js").BreakoutMoveFrame} BreakoutMoveFrame
 * @typedef {import("../../protocol.js").BreakoutClosingFrame} BreakoutClosingFrame
 * @typedef {import("../../protocol.js").BreakoutBroadcastFrame} BreakoutBroadcastFrame
 * @typedef {import("../../protocol.js").BreakoutHelpFrame} BreakoutHelpFrame
 */

/**
 * The breakout session as meeting-service shows it to this caller: every room's people for
 * hosts and cohosts, only one's own room for the others.
 * @typedef {object} BreakoutSession
 * @property {string} id
 * @property {"created"|"open"|"closing"|"closed"} state
 * @property {"manual"|"auto"|"self"} assignment
 * @property {boolean} allow_return
 * @property {number | null} duration_s
 * @property {string | null} opened_at
 * @property {string | null} ends_at
 * @property {string | null} closes_at
 * @property {Array<{id: string, name: string, index: number, participants?: Array<{participant_id: string, display_name: string}>}>} rooms
 * @property {number | null} [my_room] the index of the caller's room, when they have one
 * @property {Array<{participant_id: string, display_name: string}>} [unassigned] hosts and
 *   cohosts only: people in the main room assigned nowhere
 */

/**
 * Where this page is: the main room, or a breakout room (what the move's frame or answer said).
 * @typedef {object} BreakoutPlace
 * @property {BreakoutRoomInfo} room
 * @property {string | null} ends_at
 * @property {boolean} allow_return
 */

/**
 * How the page moves between rooms of the meeting (`pages/meeting.js` does it).
 * @typedef {object} BreakoutContext
 * @property {string} mainMeetingId the meeting's own id: every breakout call goes there
 * @property {string} mainParticipantId this person's participant in the main meeting
 * @property {BreakoutPlace | null} place null in the main room
 * @property {(joined: Joined, place: BreakoutPlace | null) => void} move into a room: a
 *   breakout room, or (`place` null) back to the main one
 * @property {() => Promise<void>} back back into the main room (`POST .../breakouts/return`)
 */

const STYLESHEET = "/static/css/breakouts.css";
const MAX_ROOMS = 50;

/** The module's own stylesheet, added once. */
function useStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLESHEET }));
}

/**
 * "4:05" — minutes and seconds left until `iso` (0:00 once past).
 * @param {string | null} iso
 * @returns {string}
 */
export function timeLeft(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

export class Breakouts {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** @type {BreakoutContext | null} */
    this.context = room.options.breakout || null;
    /** @type {BreakoutSession | null} */
    this.session = null;
    /** @type {string | null} when the rooms close (the countdown everyone sees) */
    this.closesAt = null;
    this.returning = false;
    useStylesheet();
    this.countdown = h("p", { class: "breakout-countdown", id: "breakout-countdown", role: "status", hidden: true });
    this.bar = this.buildBar();
    this.chooser = h("section", { class: "breakout-chooser card", id: "breakout-chooser", "aria-label": "Choose a breakout room", hidden: true });
    this.helpNotice = h("section", { class: "breakout-help-notice", id: "breakout-help", "aria-label": "Asking for help", hidden: true });
    this.panel = h("aside", { class: "panel", id: "breakouts-panel", hidden: true, "aria-label": "Breakout rooms" });
    this.button = h("button", { type: "button", id: "control-breakouts", class: "control secondary", "aria-pressed": "false", "aria-controls": "breakouts-panel", hidden: true, onclick: () => this.toggle() }, "Breakout rooms");
    const leave = room.controls.element.querySelector("#leave");
    room.controls.element.insertBefore(this.button, leave);
    room.element.querySelector(".room-body")?.append(this.panel);
    room.element.querySelector(".room-top")?.after(this.bar, this.countdown, this.chooser, this.helpNotice);
    for (const id of ["control-chat", "control-people", "control-polls"]) {
      room.controls.element.querySelector(`#${id}`)?.addEventListener("click", () => this.setOpen(false));
    }
    this.tick = setInterval(() => this.showTime(), 1000);
    room.stops.push(() => clearInterval(this.tick));
    this.listen();
    this.render();
    // In a breakout room there is a session to show; in the main room the hosts' panel and
    // the frames ask when there is reason to (no request, and no 404, in every meeting).
    if (this.place) void this.load();
  }

  /** @returns {boolean} */
  get moderator() {
    return this.room.moderator;
  }

  /** @returns {string} the main meeting, where every breakout call goes */
  get meetingId() {
    return this.context?.mainMeetingId || this.room.options.meeting.id;
  }

  /** @returns {BreakoutPlace | null} */
  get place() {
    return this.context?.place || null;
  }

  /** Query that lets a guest prove who they are (their participant in the main meeting). */
  get who() {
    if (session.signedIn) return {};
    return { participant_id: this.context?.mainParticipantId || this.room.self.id };
  }

  /**
   * A call under `.../breakouts`.
   * @param {string} path
   * @param {import("../../api.js").RequestOptions} [options]
   */
  call(path, options = {}) {
    return session.api.request(paths.breakouts(this.meetingId, path), { ...options, query: { ...(options.query || {}), ...this.who } });
  }

  listen() {
    const c = this.room.connection;
    c.on("breakout-move", (/** @type {BreakoutMoveFrame} */ frame) => {
      toast(`Moving you to ${frame.room.name}…`);
      this.go(frame.joined, { room: frame.room, ends_at: frame.ends_at, allow_return: frame.allow_return });
    });
    c.on("breakout-return", () => void this.backToMain());
    c.on("breakout-closing", (/** @type {BreakoutClosingFrame} */ frame) => {
      this.closesAt = frame.closes_at;
      this.showTime();
      void this.load();
    });
    c.on("breakout-broadcast", (/** @type {BreakoutBroadcastFrame} */ frame) => {
      this.bar.querySelector(".breakout-message")?.replaceChildren(`${frame.from}: ${frame.text}`);
      toast(`Message to every room from ${frame.from}: ${frame.text}`);
    });
    c.on("breakout-help", (/** @type {BreakoutHelpFrame} */ frame) => this.showHelp(frame));
    c.on("breakouts-updated", () => void this.load());
    c.on("peer-updated", ({ peer }) => {
      if (peer.id === this.room.self.id) this.render();
    });
    // The panel lists who is in the main room: ask again as people come and go.
    for (const type of ["peer-joined", "peer-left"]) c.on(type, () => { if (!this.panel.hidden) void this.load(); });
  }

  /**
   * Into another room (the page does the move).
   * @param {Joined} joined
   * @param {BreakoutPlace | null} place
   */
  go(joined, place) {
    if (!this.context) return;
    this.context.move(joined, place);
  }

  /** Back into the main room (the rooms closed, a host moved us back, or we chose to). */
  async backToMain() {
    if (!this.place || this.returning) return;
    this.returning = true;
    try {
      await this.context?.back();
    } catch (failure) {
      this.returning = false;
      toast(failure instanceof Error ? failure.message : String(failure), "error");
    }
  }

  /** @param {string} roomId */
  async join(roomId) {
    try {
      /** @type {Joined} */
      const joined = await this.call(`${roomId}/join`, { method: "POST", json: {} });
      const room = this.session?.rooms.find((r) => r.id === roomId);
      if (!room) return;
      this.go(joined, { room: { id: room.id, name: room.name, index: room.index, meeting_id: room.id }, ends_at: this.session?.ends_at || null, allow_return: this.session?.allow_return || false });
    } catch (failure) {
      toast(failure instanceof Error ? failure.message : String(failure), "error");
    }
  }

  async load() {
    try {
      this.session = await this.call("", { method: "GET" });
      if (this.session?.closes_at) this.closesAt = this.session.closes_at;
    } catch {
      this.session = null; // none (404), or not ours to see
    }
    this.render();
  }

  // --- the bar in a breakout room, the countdown, the chooser ------------------------------

  buildBar() {
    return h("section", { class: "breakout-bar", id: "breakout-bar", "aria-label": "Breakout room", hidden: true });
  }

  renderBar() {
    const place = this.place;
    this.bar.hidden = place === null;
    if (!place) return;
    const canReturn = this.moderator || place.allow_return || this.closesAt !== null;
    this.bar.replaceChildren(
      h("span", { class: "breakout-name" }, place.room.name),
      h("span", { class: "breakout-time", id: "breakout-time", hidden: !place.ends_at }, place.ends_at ? `${timeLeft(place.ends_at)} left` : ""),
      h("span", { class: "breakout-message", "aria-live": "polite" }),
      h("button", { type: "button", id: "breakout-ask-help", onclick: () => void this.askHelp() }, "Ask for help"),
      canReturn ? h("button", { type: "button", id: "breakout-return", class: "primary", onclick: () => void this.backToMain() }, "Return to main room") : "",
    );
  }

  renderChooser() {
    const s = this.session;
    const choosing = !this.place && s !== null && s.state === "open" && s.assignment === "self" && !this.moderator;
    this.chooser.hidden = !choosing;
    if (!choosing || !s) return;
    this.chooser.replaceChildren(
      h("h2", {}, "Breakout rooms are open"),
      h("p", {}, "Choose a room to join."),
      h("ul", { class: "breakout-choices" }, ...s.rooms.map((r) => h("li", {},
        h("button", { type: "button", class: "primary", onclick: () => void this.join(r.id) }, `Join ${r.name}`)))),
    );
  }

  /** The time left in this room, and the countdown to everyone's return. */
  showTime() {
    const place = this.place;
    const time = this.bar.querySelector("#breakout-time");
    if (place?.ends_at && time) time.textContent = `${timeLeft(place.ends_at)} left`;
    if (!this.closesAt) {
      this.countdown.hidden = true;
      return;
    }
    const seconds = Math.max(0, Math.round((Date.parse(this.closesAt) - Date.now()) / 1000));
    this.countdown.hidden = false;
    this.countdown.textContent = place ? `Breakout rooms close in ${seconds} s: you will be back in the main room.` : `Breakout rooms close in ${seconds} s.`;
    if (seconds === 0) {
      this.closesAt = null;
      this.countdown.hidden = true;
      if (place) void this.backToMain();
      else void this.load();
    }
  }

  async askHelp() {
    try {
      await this.call("help", { method: "POST", json: { room_id: this.place?.room.id } });
      toast("The hosts were told you need help.");
    } catch (failure) {
      toast(failure instanceof Error ? failure.message : String(failure), "error");
    }
  }

  /** @param {BreakoutHelpFrame} frame */
  showHelp(frame) {
    if (!this.moderator) return;
    const words = `${frame.from} asks for help in ${frame.room.name}`;
    toast(`${words}.`);
    this.helpNotice.hidden = false;
    const here = this.place?.room.id === frame.room.id;
    this.helpNotice.replaceChildren(
      h("p", {}, words),
      here ? "" : h("button", { type: "button", class: "primary", onclick: () => { this.helpNotice.hidden = true; void this.join(frame.room.id); } }, `Join ${frame.room.name}`),
      h("button", { type: "button", onclick: () => { this.helpNotice.hidden = true; } }, "Dismiss"),
    );
  }

  // --- the hosts' panel ----------------------------------------------------------------------

  /** @param {boolean} open */
  setOpen(open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-pressed", String(open));
  }

  toggle() {
    const open = this.panel.hidden;
    if (open) {
      for (const panel of [this.room.chat.panel, this.room.people.panel, this.room.polls?.panel]) if (panel) panel.hidden = true;
      this.room.controls.element.querySelectorAll("#control-chat, #control-people, #control-polls").forEach((b) => b.setAttribute("aria-pressed", "false"));
      void this.load();
    }
    this.setOpen(open);
    if (open) /** @type {HTMLElement | null} */ (this.panel.querySelector("h2"))?.focus();
  }

  render() {
    this.button.hidden = !this.moderator;
    if (!this.moderator) this.setOpen(false);
    this.renderBar();
    this.renderChooser();
    this.showTime();
    if (!this.moderator) return;
    const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.key;
    const s = this.session;
    const live = s !== null && s.state !== "closed";
    this.panel.replaceChildren(
      h("h2", { tabindex: "-1" }, "Breakout rooms"),
      live && s ? this.sessionView(s) : this.createForm(),
    );
    if (focused) /** @type {HTMLElement | null} */ (this.panel.querySelector(`[data-key="${focused}"]`))?.focus();
  }

  createForm() {
    const error = errorLine();
    const count = h("input", { type: "number", name: "rooms", id: "breakout-count", min: 1, max: MAX_ROOMS, value: 2, required: true });
    const assignment = h("select", { name: "assignment", id: "breakout-assignment" },
      h("option", { value: "auto" }, "Automatically"),
      h("option", { value: "manual" }, "By hand"),
      h("option", { value: "self" }, "Participants choose"));
    const minutes = h("input", { type: "number", name: "minutes", id: "breakout-minutes", min: 1, max: 1440, placeholder: "No limit" });
    const allowReturn = h("input", { type: "checkbox", name: "allow_return", id: "breakout-allow-return", checked: true });
    const form = h("form", { class: "stack breakout-create", "aria-label": "Create breakout rooms" },
      h("label", { for: "breakout-count" }, "Number of rooms"), count,
      h("label", { for: "breakout-assignment" }, "Assign people"), assignment,
      h("label", { for: "breakout-minutes" }, "Time limit (minutes, optional)"), minutes,
      h("label", { class: "check" }, allowReturn, " Participants may return to the main room early"),
      error,
      h("button", { type: "submit", class: "primary" }, "Create rooms"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const n = Number(count.value);
      const limit = Number(minutes.value);
      try {
        this.session = await this.call("", {
          json: {
            rooms: Array.from({ length: n }, (_, i) => ({ name: `Room ${i + 1}` })),
            assignment: assignment.value,
            duration_s: limit > 0 ? limit * 60 : undefined,
            allow_return: allowReturn.checked,
          },
        });
        this.render();
      } catch (failure) {
        showError(error, failure);
      }
    });
    return form;
  }

  /**
   * Who is where, moving people, and the session's actions.
   * @param {BreakoutSession} s
   */
  sessionView(s) {
    const error = errorLine();
    /** @param {() => Promise<unknown>} action */
    const act = async (action) => {
      try {
        await action();
        await this.load();
      } catch (failure) {
        showError(error, failure);
      }
    };
    const seated = new Map();
    /** @type {Map<string, string>} everyone who can be put in a room: in one already, or here */
    const people = new Map();
    for (const r of s.rooms) {
      for (const p of r.participants || []) {
        seated.set(p.participant_id, r.index);
        people.set(p.participant_id, p.display_name);
      }
    }
    for (const p of s.unassigned || []) people.set(p.participant_id, p.display_name);
    const rooms = h("ul", { class: "breakout-rooms" }, ...s.rooms.map((r) => h("li", { "data-room": r.index },
      h("h3", {}, r.name),
      h("ul", { class: "breakout-people", "aria-label": `People in ${r.name}` },
        ...(r.participants || []).map((p) => h("li", {}, p.display_name))),
      s.state === "open" && this.place?.room.id !== r.id
        ? h("button", { type: "button", "data-key": `visit-${r.id}`, onclick: () => void this.join(r.id) }, `Join ${r.name}`)
        : "")));
    const moving = s.state === "closing" ? "" : h("fieldset", { class: "breakout-assign" },
      h("legend", {}, "Who goes where"),
      ...(people.size === 0 ? [h("p", { class: "muted" }, "Nobody to assign yet.")] : [...people].map(([id, name]) => {
        const select = /** @type {HTMLSelectElement} */ (h("select", {
          "aria-label": `Room for ${name}`,
          "data-key": `assign-${id}`,
          onchange: () => void act(() => this.move(id, select.value === "" ? null : Number(select.value))),
        }, h("option", { value: "" }, "Main room"), ...s.rooms.map((r) => h("option", { value: r.index, selected: seated.get(id) === r.index }, r.name))));
        return h("div", { class: "breakout-assign-row" }, h("span", {}, name), select);
      })));
    const message = h("input", { type: "text", name: "text", maxlength: 500, required: true, "aria-label": "Message to every room" });
    const broadcast = h("form", { class: "breakout-broadcast", "aria-label": "Message to every room" }, message,
      h("button", { type: "submit" }, "Send to all rooms"));
    broadcast.addEventListener("submit", (event) => {
      event.preventDefault();
      void act(async () => {
        await this.call("broadcast", { json: { text: message.value.trim() } });
        toast("Sent to every room.");
      });
    });
    const state = { created: "Not open yet", open: "Open", closing: "Closing", closed: "Closed" }[s.state];
    return h("div", { class: "stack" },
      h("p", { class: "muted", id: "breakout-state" }, `${state}${s.ends_at && s.state === "open" ? ` · ${timeLeft(s.ends_at)} left` : ""}`),
      rooms, moving, error,
      s.state === "created" ? h("button", { type: "button", class: "primary", "data-key": "open", onclick: () => void act(() => this.call("open", { json: {} })) }, "Open rooms") : "",
      s.state === "open" ? broadcast : "",
      s.state === "open" ? h("div", { class: "row-actions" },
        h("button", { type: "button", class: "danger", "data-key": "close", onclick: () => void act(() => this.call("close", { json: {} })) }, "Close rooms"),
        h("button", { type: "button", "data-key": "close-now", onclick: () => void act(() => this.call("close", { json: { now: true } })) }, "Close now")) : "",
    );
  }

  /**
   * Put a person in a room (or back in the main room: null).
   * @param {string} participantId
   * @param {number | null} to
   */
  move(participantId, to) {
    const room = this.session?.rooms.find((r) => r.index === (to ?? -1)) || this.session?.rooms[0];
    if (!room) return Promise.resolve();
    return this.call(room.id, { method: "PATCH", json: { move: { participant_id: participantId, to } } });
  }
}
