// @ts-check
/**
 * Dashboard: live, upcoming and past meetings; start, schedule and join meetings.
 * @module pages/dashboard
 */
import { paths } from "../api.js";
import { session } from "../session.js";
import { checkbox, copy, errorLine, field, go, h, render, showError, showErrors, showFieldError, toast, when } from "../ui.js";
import { MEETING_INPUTS, browserZone, editForm } from "./meeting_edit.js";
import { markNewMeeting } from "./room/invite.js";

/** @typedef {import("./meeting_edit.js").Meeting} Meeting */

const PAGE_SIZE = 10;

/** @param {Meeting} meeting */
function inviteLink(meeting) {
  return new URL(meeting.join_url, location.origin).href;
}

/** @param {Meeting} meeting */
async function downloadCalendar(meeting) {
  try {
    const response = await session.api.raw(paths.calendar(meeting.id), {
      headers: { Accept: "text/calendar" },
    });
    const url = URL.createObjectURL(await response.blob());
    const link = h("a", { href: url, download: `meeting-${meeting.code}.ics` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error), "error");
  }
}

/**
 * Open (or, when open, close) a row's edit form. Closing it gives the focus back to the Edit
 * button; saving refreshes the list and focuses the meeting's new Edit button.
 * @param {HTMLElement} row
 * @param {HTMLButtonElement} button
 * @param {Meeting} meeting
 * @param {() => Promise<unknown>} refresh
 */
function toggleEdit(row, button, meeting, refresh) {
  const close = () => {
    row.querySelector("form.meeting-edit")?.remove();
    button.setAttribute("aria-expanded", "false");
    button.focus();
  };
  if (row.querySelector("form.meeting-edit")) {
    close();
    return;
  }
  const form = editForm(meeting, {
    onClose: close,
    onSaved: async () => {
      await refresh();
      const again = document.querySelector(`button[data-edit="${CSS.escape(meeting.id)}"]`);
      if (again instanceof HTMLElement) again.focus();
    },
  });
  row.append(form);
  button.setAttribute("aria-expanded", "true");
  form.querySelector("input")?.focus();
}

/**
 * What a row says about who hosts and how people get in.
 * @param {Meeting} meeting
 * @param {boolean} mine
 */
function accessNotes(meeting, mine) {
  const notes = [mine ? "You host" : `Host: ${meeting.host_display_name}`];
  if (meeting.has_password) notes.push("password");
  if (meeting.settings?.waiting_room) notes.push("waiting room");
  if (meeting.settings && !meeting.settings.allow_guests) notes.push("no guests");
  return notes.join(" · ");
}

/**
 * @param {Meeting} meeting
 * @param {() => Promise<unknown>} refresh
 */
function meetingRow(meeting, refresh) {
  const mine = meeting.host_id === session.user?.id;
  const open = meeting.status === "live" || meeting.status === "scheduled";
  const actions = h("div", { class: "row-actions" });
  const time = meeting.status === "ended" ? `Ended ${when(meeting.ended_at)}` : meeting.start_time ? when(meeting.start_time) : "Instant meeting";
  const row = h(
    "li",
    { class: "meeting", "data-meeting-code": meeting.code },
    h(
      "div",
      { class: "meeting-info" },
      h("strong", {}, meeting.title),
      h("span", { class: "muted" }, `${time} · ${meeting.duration_minutes} min · code ${meeting.code}`),
      h("span", { class: "muted" }, accessNotes(meeting, mine), meeting.status === "live" ? " · " : "", meeting.status === "live" ? h("span", { class: "badge live" }, "live") : null),
    ),
    actions,
  );
  if (open) {
    actions.append(
      h("a", { class: "button primary", href: meeting.join_url }, meeting.status === "live" ? "Join" : "Start"),
      h("button", { type: "button", onclick: () => void copy(inviteLink(meeting)), "aria-label": `Copy link for ${meeting.title}` }, "Copy link"),
      h("button", { type: "button", onclick: () => void downloadCalendar(meeting), "aria-label": `Calendar file (.ics) for ${meeting.title}` }, "Calendar"),
    );
  }
  if (open && mine && meeting.status === "scheduled") {
    const edit = h("button", { type: "button", "aria-label": `Edit ${meeting.title}`, "aria-expanded": "false", "data-edit": meeting.id }, "Edit");
    edit.addEventListener("click", () => toggleEdit(row, edit, meeting, refresh));
    actions.append(edit);
  }
  if (open && mine) {
    const verb = meeting.status === "live" ? "End" : "Cancel";
    actions.append(
      h("button", {
        type: "button",
        class: "danger",
        "aria-label": `${verb} ${meeting.title}`,
        onclick: async () => {
          if (!window.confirm(`${verb} “${meeting.title}” for everyone?`)) return;
          try {
            await session.api.request(paths.meeting(meeting.id), { method: "DELETE" });
            await refresh();
          } catch (error) {
            toast(error instanceof Error ? error.message : String(error), "error");
          }
        },
      }, verb),
    );
  }
  return row;
}

/**
 * A paged list of meetings with one status.
 * @param {string} title
 * @param {string} status
 * @param {string} empty
 */
function meetingList(title, status, empty) {
  let page = 1;
  const list = h("ul", { class: "meetings" });
  const pager = h("div", { class: "pager" });
  const section = h("section", { class: "card", "aria-label": title, "data-list": status }, h("h2", {}, title), list, pager);
  const load = async () => {
    try {
      const data = await session.api.request(paths.meetings(), { query: { status, page, page_size: PAGE_SIZE } });
      list.replaceChildren(...data.items.map((/** @type {Meeting} */ m) => meetingRow(m, load)));
      if (data.items.length === 0) list.append(h("li", { class: "muted" }, empty));
      const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
      pager.replaceChildren();
      if (pages > 1) {
        pager.append(
          h("button", { type: "button", disabled: page <= 1, onclick: () => { page -= 1; void load(); } }, "Previous"),
          h("span", {}, `Page ${page} of ${pages}`),
          h("button", { type: "button", disabled: page >= pages, onclick: () => { page += 1; void load(); } }, "Next"),
        );
      }
    } catch (error) {
      list.replaceChildren(h("li", { class: "error" }, error instanceof Error ? error.message : String(error)));
    }
  };
  return { section, load };
}

function scheduleForm() {
  const error = errorLine();
  const zone = browserZone();
  const form = h(
    "form",
    { class: "stack", "aria-label": "Schedule a meeting" },
    field("Title", { name: "title", required: true, maxlength: 200 }),
    field(`Date and time (${zone})`, { name: "start", type: "datetime-local", required: true }),
    field("Duration (minutes)", { name: "duration", type: "number", min: 5, max: 1440, value: 60, required: true }),
    field("Password (optional)", { name: "password", type: "password", autocomplete: "new-password", maxlength: 128 }),
    checkbox("Waiting room: I admit people", "waiting_room"),
    checkbox("Guests without an account may join", "allow_guests", true),
    error,
    h("button", { type: "submit", class: "primary" }, "Schedule"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    showErrors(form, error, null);
    const start = new Date(String(data.get("start")));
    if (Number.isNaN(start.getTime())) {
      showFieldError(form, "start", "Pick a date and time.");
      return;
    }
    try {
      const meeting = await session.api.request(paths.meetings(), {
        json: {
          title: String(data.get("title")).trim(),
          start_time: start.toISOString(),
          timezone: zone,
          duration_minutes: Number(data.get("duration")),
          password: String(data.get("password") || "") || null,
          settings: { waiting_room: data.has("waiting_room"), allow_guests: data.has("allow_guests") },
        },
      });
      toast(`Scheduled “${meeting.title}”.`);
      form.reset();
      form.dispatchEvent(new CustomEvent("scheduled", { detail: meeting }));
    } catch (failure) {
      showErrors(form, error, failure, MEETING_INPUTS);
    }
  });
  return form;
}

/**
 * "Start an instant meeting", with an optional password and waiting room (under "Options", so
 * one click still starts a plain one). The room greets its host with "Your meeting is ready".
 */
function instantForm() {
  const error = errorLine();
  const form = h(
    "form",
    { class: "stack", "aria-label": "Start an instant meeting" },
    h("details", { class: "instant-options" },
      h("summary", {}, "Options: password, waiting room"),
      h("div", { class: "stack" },
        field("Password for this meeting (optional)", { name: "password", type: "password", autocomplete: "new-password", maxlength: 128 }),
        checkbox("Waiting room (I admit people)", "waiting_room"))),
    error,
    h("button", { type: "submit", class: "primary big" }, "Start an instant meeting"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    showErrors(form, error, null);
    try {
      const meeting = await session.api.request(paths.meetings(), {
        json: {
          title: `${session.user?.display_name}'s meeting`,
          timezone: browserZone(),
          password: String(data.get("password") || "") || null,
          settings: { waiting_room: data.has("waiting_room") },
        },
      });
      markNewMeeting(meeting.id);
      go(meeting.join_url);
    } catch (failure) {
      showErrors(form, error, failure);
    }
  });
  return form;
}

function joinByCode() {
  const error = errorLine();
  const form = h(
    "form",
    { class: "inline", "aria-label": "Join by code or link" },
    field("Meeting code or link", { name: "code", required: true, placeholder: "abc-defg-hij" }),
    h("button", { type: "submit" }, "Join"),
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = String(new FormData(form).get("code") || "").trim();
    const code = raw.split("/m/").pop()?.replace(/[^A-Za-z0-9-]/g, "") || "";
    if (!code) {
      showError(error, "Enter the meeting code or paste the invite link.");
      return;
    }
    go(`/m/${code}`);
  });
  return form;
}

export async function show() {
  const live = meetingList("Live now", "live", "No meeting is live.");
  const upcoming = meetingList("Upcoming", "scheduled", "Nothing scheduled.");
  const past = meetingList("Past", "ended", "No past meetings yet.");
  const reload = () => Promise.all([live.load(), upcoming.load(), past.load()]);
  const schedule = scheduleForm();
  schedule.addEventListener("scheduled", () => void reload());
  const instant = instantForm();
  render(
    h("h1", {}, `Hello, ${session.user?.display_name}`),
    h("div", { class: "grid-2" },
      h("section", { class: "card stack" }, h("h2", {}, "Meet now"), instant, joinByCode()),
      h("section", { class: "card" }, h("details", {}, h("summary", {}, h("h2", { class: "inline-heading" }, "Schedule a meeting")), schedule)),
    ),
    live.section,
    upcoming.section,
    past.section,
  );
  await reload();
}
