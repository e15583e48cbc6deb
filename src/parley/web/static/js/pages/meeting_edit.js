// @ts-check
/**
 * The dashboard's meeting form pieces: which input an API error is about, the browser's time
 * zone, and the form that changes a scheduled meeting (title, time, duration, password,
 * waiting room, guests). Only what changed is sent (`PATCH /api/v1/meetings/{id}`).
 * @module pages/meeting_edit
 */
import { paths } from "../api.js";
import { session } from "../session.js";
import { checkbox, errorLine, field, h, showErrors, showFieldError, toast } from "../ui.js";

/**
 * What the dashboard needs of a meeting to show and edit it.
 * @typedef {object} Meeting
 * @property {string} id
 * @property {string} code
 * @property {string} title
 * @property {string} host_id
 * @property {string} host_display_name
 * @property {"scheduled"|"live"|"ended"|"cancelled"} status
 * @property {string|null} start_time
 * @property {number} duration_minutes
 * @property {boolean} has_password
 * @property {{waiting_room: boolean, allow_guests: boolean}} settings
 * @property {string} join_url
 * @property {string|null} ended_at
 */

/** The API's fields and problem types → the meeting forms' inputs they are about. */
export const MEETING_INPUTS = {
  start_time: "start",
  duration_minutes: "duration",
  "start-in-the-past": "start",
  "time-out-of-range": "start",
};

/** The browser's IANA time zone (the one `datetime-local` inputs are read in). */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/**
 * A moment as a `datetime-local` input's value, in the browser's time zone ("" for none).
 * @param {string | null} iso
 */
function localInputValue(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${String(moment.getFullYear()).padStart(4, "0")}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}T${two(moment.getHours())}:${two(moment.getMinutes())}`;
}

/**
 * The password part of the form: a meeting's password is never shown back (the API does not
 * return it), only that it has one; it can be replaced or removed.
 * @param {boolean} hasPassword
 */
function passwordFields(hasPassword) {
  if (!hasPassword) {
    return [field("Password (optional)", { name: "password", type: "password", autocomplete: "new-password", maxlength: 128 })];
  }
  const replace = field("New password (leave empty to keep the current one)", { name: "password", type: "password", autocomplete: "new-password", maxlength: 128 });
  const remove = checkbox("Remove the password", "clear_password");
  const input = /** @type {HTMLInputElement} */ (replace.querySelector("input"));
  remove.querySelector("input")?.addEventListener("change", (event) => {
    input.disabled = /** @type {HTMLInputElement} */ (event.target).checked;
  });
  return [h("p", { class: "muted", "data-has-password": "" }, "This meeting has a password."), replace, remove];
}

/**
 * What the form changes, as a PATCH body (empty when nothing changed); null (with the error
 * shown next to its field) when an input cannot be read.
 * @param {HTMLFormElement} form
 * @param {Meeting} meeting
 * @param {string} shownStart the start input's first value
 * @returns {Record<string, unknown> | null}
 */
function changes(form, meeting, shownStart) {
  const data = new FormData(form);
  /** @type {Record<string, unknown>} */
  const body = {};
  const title = String(data.get("title") || "").trim();
  if (title !== meeting.title) body.title = title;
  const startValue = String(data.get("start") || "");
  if (startValue !== shownStart) {
    const start = new Date(startValue);
    if (Number.isNaN(start.getTime())) {
      showFieldError(form, "start", "Pick a date and time.");
      return null;
    }
    body.start_time = start.toISOString();
  }
  const duration = Number(data.get("duration"));
  if (duration !== meeting.duration_minutes) body.duration_minutes = duration;
  if (data.has("clear_password")) body.clear_password = true;
  else if (data.get("password")) body.password = String(data.get("password"));
  /** @type {Record<string, boolean>} */
  const settings = {};
  for (const name of /** @type {const} */ (["waiting_room", "allow_guests"])) {
    if (data.has(name) !== meeting.settings[name]) settings[name] = data.has(name);
  }
  if (Object.keys(settings).length > 0) body.settings = settings;
  return body;
}

/**
 * The form that edits one scheduled meeting, prefilled with its current values (the start time
 * in the browser's time zone). Escape or Cancel calls `onClose`; a saved change `onSaved`.
 * @param {Meeting} meeting
 * @param {{onSaved: (updated: Meeting) => void, onClose: () => void}} handlers
 * @returns {HTMLFormElement}
 */
export function editForm(meeting, { onSaved, onClose }) {
  const error = errorLine();
  const shownStart = localInputValue(meeting.start_time);
  const form = h(
    "form",
    { class: "stack meeting-edit", "aria-label": `Edit ${meeting.title}`, id: `edit-${meeting.id}` },
    field("Title", { name: "title", required: true, maxlength: 200, value: meeting.title }),
    field(`Date and time (${browserZone()})`, { name: "start", type: "datetime-local", required: Boolean(meeting.start_time), value: shownStart }),
    field("Duration (minutes)", { name: "duration", type: "number", min: Math.min(5, meeting.duration_minutes), max: 1440, value: meeting.duration_minutes, required: true }),
    ...passwordFields(meeting.has_password),
    checkbox("Waiting room: I admit people", "waiting_room", meeting.settings.waiting_room),
    checkbox("Guests without an account may join", "allow_guests", meeting.settings.allow_guests),
    error,
    h("div", { class: "row-actions" },
      h("button", { type: "submit", class: "primary" }, "Save"),
      h("button", { type: "button", onclick: () => onClose() }, "Cancel")),
  );
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    onClose();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showErrors(form, error, null);
    const body = changes(form, meeting, shownStart);
    if (body === null) return;
    if (Object.keys(body).length === 0) {
      toast("Nothing changed.");
      onClose();
      return;
    }
    try {
      const updated = await session.api.request(paths.meeting(meeting.id), { method: "PATCH", json: body });
      toast(`Saved “${updated.title}”.`);
      onSaved(updated);
    } catch (failure) {
      showErrors(form, error, failure, MEETING_INPUTS);
    }
  });
  return form;
}
