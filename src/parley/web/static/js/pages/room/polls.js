// @ts-check
/**
 * Polls in the room: the card that pops up when a host launches a poll (radio buttons or
 * checkboxes, Vote / Change vote), results as bars with their counts and percentages in words
 * (never colour alone), the host's editor (question, options, several answers, anonymous,
 * live results; Launch; Close poll), and the Polls panel with every poll of the meeting.
 *
 * State comes from meeting-service (`GET .../polls` on entry and after a resume) and the room's
 * `poll-opened` / `poll-results` / `poll-closed` frames; counts carry a `revision`, so a late
 * frame never replaces newer counts. Guests have no access token: their browser's guest
 * cookie and their participant id prove who they are (`participant_id`).
 *
 * Also {@link pastPolls}: the polls of a meeting that is over, for the meeting page.
 * @module pages/room/polls
 */
import { paths } from "../../api.js";
import { session } from "../../session.js";
import { errorLine, h, showError, toast } from "../../ui.js";

/**
 * @typedef {import("../room.js").Room} Room
 * @typedef {import("../../protocol.js").PollInfo} PollInfo
 * @typedef {import("../../protocol.js").PollCounts} PollCounts
 * @typedef {import("../../protocol.js").PollOpenedFrame} PollOpenedFrame
 * @typedef {import("../../protocol.js").PollResultsFrame} PollResultsFrame
 * @typedef {import("../../protocol.js").PollClosedFrame} PollClosedFrame
 */

/**
 * A poll as meeting-service shows it to this caller (`PollOut`): `results` and `voters` only
 * when the caller may see them, `votes` only for named polls and only to hosts and cohosts.
 * @typedef {PollInfo & {results?: number[], voters?: number, my_vote?: number[],
 *   votes?: Array<{participant_id: string, display_name: string, options: number[]}>}} Poll
 */

const STYLESHEET = "/static/css/polls.css";
const MAX_OPTIONS = 10;
const MIN_OPTIONS = 2;

/** The module's own stylesheet, added once (app.css stays as it is). */
function useStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLESHEET }));
}

/**
 * "2 votes · 67%": the bar's meaning in words.
 * @param {number} count
 * @param {number} voters
 */
function figure(count, voters) {
  const percent = voters > 0 ? Math.round((count / voters) * 100) : 0;
  return `${count} ${count === 1 ? "vote" : "votes"} · ${percent}%`;
}

/**
 * Result bars, one per option: the text says it all, the bar repeats it for the eye.
 * @param {Poll} poll
 * @param {string} idPrefix
 * @returns {HTMLElement}
 */
function resultBars(poll, idPrefix) {
  const results = poll.results || [];
  const voters = poll.voters || 0;
  const heading = `${idPrefix}-results`;
  return h("div", { class: "poll-results" },
    h("p", { class: "poll-voters", id: heading }, `${voters} ${voters === 1 ? "person" : "people"} voted`),
    h("ul", { "aria-labelledby": heading },
      ...poll.options.map((option, index) => {
        const count = results[index] || 0;
        const fill = h("span", { class: "poll-fill" });
        // Through the CSSOM (a style attribute would be refused by the page's CSP).
        fill.style.width = `${voters > 0 ? Math.round((count / voters) * 100) : 0}%`;
        return h("li", { "data-option": index, "data-count": count },
          h("span", { class: "poll-option-name" }, option),
          h("span", { class: "poll-figure" }, figure(count, voters)),
          h("span", { class: "poll-bar", "aria-hidden": "true" }, fill));
      })));
}

/**
 * Download a poll's CSV (the bearer token rides in a header, so not a plain link).
 * @param {string} meetingId
 * @param {Poll} poll
 */
async function downloadCsv(meetingId, poll) {
  try {
    const response = await session.api.raw(paths.poll(meetingId, poll.id, "results.csv"), { headers: { Accept: "text/csv" } });
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: `poll-${poll.id.slice(0, 8)}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error), "error");
  }
}

/**
 * The CSV button of a poll, for hosts.
 * @param {string} meetingId
 * @param {Poll} poll
 */
function csvButton(meetingId, poll) {
  return h("button", { type: "button", class: "poll-csv", "aria-label": `Download the results of “${poll.question}” as CSV`, onclick: () => void downloadCsv(meetingId, poll) }, "Download CSV");
}

export class Polls {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    this.meetingId = room.options.meeting.id;
    /** @type {Map<string, Poll>} newest last */
    this.polls = new Map();
    /** @type {Map<string, Set<number>>} what this person ticked but has not sent yet */
    this.choices = new Map();
    /** @type {string | null} the poll shown in the pop-up card */
    this.shown = null;
    this.wasModerator = room.moderator;
    useStylesheet();
    this.list = h("div", { class: "poll-list", id: "poll-list" });
    this.editor = this.buildEditor();
    this.panel = h("aside", { class: "panel", id: "polls-panel", hidden: true, "aria-label": "Polls" },
      h("h2", {}, "Polls"), this.editor, this.list);
    this.popup = h("section", { class: "poll-popup", id: "poll-popup", hidden: true, "aria-label": "Poll", "aria-live": "polite" });
    this.button = h("button", { type: "button", id: "control-polls", class: "control", "aria-pressed": "false", "aria-controls": "polls-panel", onclick: () => this.toggle() }, "Polls");
    this.badge = h("span", { class: "badge count", hidden: true, "aria-label": "open polls" });
    this.button.append(this.badge);
    // Mounted into the room's own containers: the control bar, beside the other panels.
    const leave = room.controls.element.querySelector("#leave");
    room.controls.element.insertBefore(this.button, leave);
    room.element.querySelector(".room-body")?.append(this.panel);
    room.element.append(this.popup);
    for (const id of ["control-chat", "control-people"]) {
      room.controls.element.querySelector(`#${id}`)?.addEventListener("click", () => this.setOpen(false));
    }
    this.listen();
    void this.load();
  }

  /** @returns {boolean} hosts and cohosts launch and close polls and always see counts */
  get moderator() {
    return this.room.moderator;
  }

  /** Query that lets a guest (no access token) prove who they are. */
  get who() {
    return session.signedIn ? {} : { participant_id: this.room.self.id };
  }

  listen() {
    const c = this.room.connection;
    c.on("poll-opened", (/** @type {PollOpenedFrame} */ { poll }) => {
      const known = this.polls.get(poll.id);
      this.polls.set(poll.id, { ...poll, ...(known || {}), ...(this.moderator || poll.live_results ? { results: poll.options.map(() => 0), voters: 0 } : {}) });
      this.shown = poll.id;
      this.popup.hidden = false;
      this.render();
      if (!this.moderator) toast(`New poll: ${poll.question}`);
    });
    c.on("poll-results", (/** @type {PollResultsFrame} */ frame) => this.counts(frame, false));
    c.on("poll-closed", (/** @type {PollClosedFrame} */ frame) => this.counts(frame, true));
    c.on("reconnected", () => void this.load());
    c.on("peer-updated", (/** @type {{peer: {id: string}}} */ { peer }) => {
      // Made cohost (or participant again): the editor and the hidden counts change with it.
      if (peer.id === this.room.self.id && this.moderator !== this.wasModerator) void this.load();
      this.wasModerator = this.moderator;
    });
  }

  /** Everything meeting-service has for this caller (on entry, after a resume). */
  async load() {
    try {
      /** @type {Poll[]} */
      const polls = await session.api.request(paths.polls(this.meetingId), { query: this.who });
      for (const poll of polls) this.merge(poll);
      const open = [...this.polls.values()].filter((p) => p.status === "open" && !p.my_vote);
      if (open.length > 0 && !this.shown) {
        this.shown = open[open.length - 1].id;
        this.popup.hidden = false;
      }
      this.render();
    } catch (error) {
      console.warn("polls could not be loaded", error);
    }
  }

  /**
   * Take a newer view of a poll (from the API); an older one changes nothing.
   * @param {Poll} poll
   */
  merge(poll) {
    const known = this.polls.get(poll.id);
    if (known && known.revision > poll.revision) return;
    this.polls.set(poll.id, { ...(known || {}), ...poll });
  }

  /**
   * @param {PollCounts} frame
   * @param {boolean} closed
   */
  counts(frame, closed) {
    const poll = this.polls.get(frame.poll_id);
    if (!poll) {
      void this.load();
      return;
    }
    if (frame.revision < poll.revision || (frame.revision === poll.revision && !closed && poll.results)) return;
    Object.assign(poll, { results: frame.results, voters: frame.voters, revision: frame.revision });
    if (closed) {
      poll.status = "closed";
      if (this.shown === poll.id) this.popup.hidden = false;
    }
    this.render();
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-pressed", String(open));
  }

  toggle() {
    const open = this.panel.hidden;
    if (open) {
      // One side panel at a time (the control bar's own toggle does the same for its two).
      this.room.chat.panel.hidden = true;
      this.room.people.panel.hidden = true;
      this.room.controls.element.querySelectorAll("#control-chat, #control-people").forEach((b) => b.setAttribute("aria-pressed", "false"));
    }
    this.setOpen(open);
    if (open) /** @type {HTMLElement | null} */ (this.panel.querySelector("input, button"))?.focus();
  }

  /** Redraw the pop-up card, the panel's list and the button's count. */
  render() {
    // Redrawn on every count: keep the keyboard focus where it was (by each control's key).
    const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.key;
    this.editor.hidden = !this.moderator;
    const polls = [...this.polls.values()];
    this.list.replaceChildren(
      ...(polls.length === 0 ? [h("p", { class: "muted" }, "No polls yet.")] : polls.slice().reverse().map((p) => this.card(p, "panel"))),
    );
    const shown = this.shown ? this.polls.get(this.shown) : undefined;
    if (shown) {
      this.popup.replaceChildren(this.card(shown, "popup"),
        h("button", { type: "button", class: "poll-hide", "aria-label": "Hide this poll", onclick: () => { this.popup.hidden = true; } }, "Hide"));
    } else {
      this.popup.hidden = true;
    }
    const waiting = polls.filter((p) => p.status === "open" && !p.my_vote).length;
    this.badge.textContent = String(waiting);
    this.badge.hidden = waiting === 0;
    if (focused) /** @type {HTMLElement | null} */ (this.room.element.querySelector(`[data-key="${focused}"]`))?.focus();
  }

  /**
   * One poll: the question, the choice (while open), results where this person may see them,
   * and for hosts Close poll or the CSV.
   * @param {Poll} poll
   * @param {"popup"|"panel"} where
   * @returns {HTMLElement}
   */
  card(poll, where) {
    const prefix = `poll-${where}-${poll.id}`;
    const open = poll.status === "open";
    const kind = poll.multiple ? "Choose one or more" : "Choose one";
    const facts = [poll.anonymous ? "Anonymous" : "Named: hosts see who voted what", open ? "Open" : "Closed"].join(" · ");
    const card = h("article", { class: "poll-card", "data-poll": poll.id, "data-status": poll.status, "aria-labelledby": `${prefix}-q` },
      h("h3", { id: `${prefix}-q` }, poll.question),
      h("p", { class: "muted poll-facts" }, facts));
    if (open) card.append(this.ballot(poll, prefix, kind));
    else if (poll.my_vote) card.append(h("p", {}, `You voted: ${poll.my_vote.map((i) => poll.options[i]).join(", ")}`));
    if (poll.results) card.append(resultBars(poll, prefix));
    else if (open) card.append(h("p", { class: "muted" }, "Results are shown when the poll closes."));
    if (this.moderator && open) {
      card.append(h("button", { type: "button", class: "danger poll-close", "data-key": `${prefix}-close`, "aria-label": `Close poll “${poll.question}”`, onclick: () => void this.close(poll) }, "Close poll"));
    }
    if (this.moderator && !open) card.append(csvButton(this.meetingId, poll));
    return card;
  }

  /**
   * The choice: radio buttons (one answer) or checkboxes (several), and Vote / Change vote.
   * @param {Poll} poll
   * @param {string} prefix
   * @param {string} kind
   */
  ballot(poll, prefix, kind) {
    const picked = this.choices.get(poll.id) || new Set(poll.my_vote || []);
    const error = errorLine();
    const form = h("form", { class: "poll-ballot", "aria-label": `Vote: ${poll.question}` },
      h("fieldset", {},
        h("legend", {}, kind),
        ...poll.options.map((option, index) => h("label", { class: "check" },
          h("input", {
            type: poll.multiple ? "checkbox" : "radio",
            name: `${prefix}-choice`,
            value: index,
            "data-key": `${prefix}-option-${index}`,
            checked: picked.has(index),
            onchange: (/** @type {Event} */ event) => {
              const input = /** @type {HTMLInputElement} */ (event.target);
              const now = poll.multiple ? new Set(this.choices.get(poll.id) || picked) : new Set();
              if (input.checked) now.add(index);
              else now.delete(index);
              this.choices.set(poll.id, now);
            },
          }),
          option))),
      h("button", { type: "submit", class: "primary", "data-key": `${prefix}-vote` }, poll.my_vote ? "Change vote" : "Vote"),
      poll.my_vote ? h("p", { class: "poll-mine", role: "status" }, `Your vote: ${poll.my_vote.map((i) => poll.options[i]).join(", ")}`) : null,
      error);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = [...form.querySelectorAll("input:checked")].map((i) => Number(/** @type {HTMLInputElement} */ (i).value));
      if (chosen.length === 0) {
        showError(error, "Pick an option first.");
        return;
      }
      void this.vote(poll, chosen, error);
    });
    return form;
  }

  /**
   * @param {Poll} poll
   * @param {number[]} chosen
   * @param {HTMLElement} error
   */
  async vote(poll, chosen, error) {
    try {
      /** @type {Poll} */
      const answer = await session.api.request(paths.poll(this.meetingId, poll.id, "votes"), { json: { options: chosen }, query: this.who });
      this.choices.delete(poll.id);
      this.merge(answer);
      this.render();
      toast(poll.my_vote ? "Your vote was changed." : "Your vote was counted.");
    } catch (failure) {
      showError(error, failure);
    }
  }

  /** @param {Poll} poll */
  async close(poll) {
    try {
      this.merge(await session.api.request(paths.poll(this.meetingId, poll.id, "close"), { method: "POST" }));
      this.render();
    } catch (failure) {
      toast(failure instanceof Error ? failure.message : String(failure), "error");
    }
  }

  /** The host's editor: a question, 2 to 10 options, three switches, Launch. */
  buildEditor() {
    const question = h("input", { id: "poll-question", name: "question", required: true, maxlength: 300, autocomplete: "off" });
    const options = h("ol", { class: "poll-editor-options" });
    const error = errorLine();
    const add = h("button", { type: "button", id: "poll-add-option" }, "Add option");
    const renumber = () => {
      const rows = [...options.children];
      rows.forEach((row, i) => {
        const input = /** @type {HTMLInputElement} */ (row.querySelector("input"));
        const remove = /** @type {HTMLButtonElement} */ (row.querySelector("button"));
        input.setAttribute("aria-label", `Option ${i + 1}`);
        input.placeholder = `Option ${i + 1}`;
        remove.setAttribute("aria-label", `Remove option ${i + 1}`);
        remove.disabled = rows.length <= MIN_OPTIONS;
      });
      add.disabled = rows.length >= MAX_OPTIONS;
    };
    const addOption = () => {
      const row = h("li", {},
        h("input", { name: "option", required: true, maxlength: 100, autocomplete: "off" }),
        h("button", { type: "button", class: "poll-remove", onclick: () => { row.remove(); renumber(); } }, "Remove"));
      options.append(row);
      renumber();
      return row;
    };
    add.addEventListener("click", () => /** @type {HTMLInputElement} */ (addOption().querySelector("input")).focus());
    addOption();
    addOption();
    const toggle = (/** @type {string} */ name, /** @type {string} */ label) => h("label", { class: "check" }, h("input", { type: "checkbox", name }), label);
    const form = h("form", { class: "poll-editor stack", id: "poll-editor", "aria-label": "New poll" },
      h("h3", {}, "New poll"),
      h("label", { class: "field", for: "poll-question" }, h("span", {}, "Question"), question),
      h("fieldset", {}, h("legend", {}, "Options (2 to 10)"), options, add),
      toggle("multiple", "Several answers allowed"),
      toggle("anonymous", "Anonymous (nobody sees who voted what)"),
      toggle("live_results", "Show results to everyone while open"),
      error,
      h("button", { type: "submit", class: "primary", id: "poll-launch" }, "Launch poll"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const launch = /** @type {HTMLButtonElement} */ (form.querySelector("#poll-launch"));
      launch.disabled = true;
      showError(error, null);
      try {
        /** @type {Poll} */
        const poll = await session.api.request(paths.polls(this.meetingId), {
          json: {
            question: String(data.get("question") || "").trim(),
            options: data.getAll("option").map((o) => String(o).trim()),
            multiple: data.get("multiple") === "on",
            anonymous: data.get("anonymous") === "on",
            live_results: data.get("live_results") === "on",
          },
        });
        this.merge(poll);
        this.shown = poll.id;
        this.popup.hidden = false;
        form.reset();
        while (options.children.length > MIN_OPTIONS) options.lastElementChild?.remove();
        renumber();
        this.render();
        toast("Poll launched.");
      } catch (failure) {
        showError(error, failure);
      } finally {
        launch.disabled = false;
      }
    });
    return form;
  }
}

/**
 * The polls of a meeting that is over, with their results, for the meeting page (people who
 * belong to it; anyone else gets nothing). Hosts also get each poll's CSV.
 * @param {string} meetingId
 * @param {boolean} host
 * @returns {Promise<HTMLElement | null>}
 */
export async function pastPolls(meetingId, host) {
  if (!session.signedIn) return null;
  /** @type {Poll[]} */
  let polls;
  try {
    polls = await session.api.request(paths.polls(meetingId));
  } catch {
    return null;
  }
  if (polls.length === 0) return null;
  useStylesheet();
  return h("section", { class: "past-polls stack", "aria-labelledby": "past-polls-title" },
    h("h2", { id: "past-polls-title" }, "Polls"),
    ...polls.map((poll) => h("article", { class: "poll-card", "data-poll": poll.id, "aria-labelledby": `past-${poll.id}` },
      h("h3", { id: `past-${poll.id}` }, poll.question),
      h("p", { class: "muted poll-facts" }, poll.anonymous ? "Anonymous" : "Named"),
      poll.results ? resultBars(poll, `past-${poll.id}`) : h("p", { class: "muted" }, "No results."),
      host ? csvButton(meetingId, poll) : null)));
}
