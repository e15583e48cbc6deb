// @ts-check
/**
 * Recordings of the meetings this person hosted or attended: thumbnail, play in the page,
 * download, delete (the meeting's host), and the transcript and summary once AI made them.
 * @module pages/recordings
 */
import { paths } from "../api.js";
import { session } from "../session.js";
import { h, render, toast, when } from "../ui.js";

/**
 * @typedef {object} Recording
 * @property {string} id
 * @property {string} meeting_id
 * @property {string} started_at
 * @property {string|null} ended_at
 * @property {"recording"|"processing"|"ready"|"failed"} status
 * @property {string|null} media_id
 * @property {number|null} duration_s
 * @property {number|null} size_bytes
 */

/**
 * @typedef {object} MediaLink
 * @property {string} url the content, usable in `<video src>` (no header needed)
 * @property {string} thumbnail_url
 * @property {number} expires_in
 */

/** @param {unknown} error */
function say(error) {
  toast(error instanceof Error ? error.message : String(error), "error");
}

/**
 * Short-lived links to a recording's file and thumbnail (a `<video>` cannot send a token).
 * @param {string} mediaId
 * @returns {Promise<MediaLink>}
 */
function linkTo(mediaId) {
  return session.api.request(paths.mediaLink(mediaId), { method: "POST" });
}

/**
 * The AI results stored for a recording (transcript, summary), if any.
 * @param {string} recordingId
 * @returns {Promise<HTMLElement | null>}
 */
async function aiResults(recordingId) {
  /** @type {any} */
  let results;
  try {
    results = await session.api.request(paths.aiResults(), { query: { recording_id: recordingId } });
  } catch {
    return null;
  }
  const items = Array.isArray(results) ? results : results?.items || [];
  if (items.length === 0) return null;
  const box = h("div", { class: "ai-results" });
  for (const item of items) {
    const data = item.data || {};
    if (item.task === "analyze") {
      if (data.summary) box.append(h("h3", {}, "Summary"), h("p", { class: "summary" }, data.summary));
      if (Array.isArray(data.action_items) && data.action_items.length)
        box.append(h("h3", {}, "Action items"), h("ul", {}, ...data.action_items.map((/** @type {any} */ a) => h("li", {}, typeof a === "string" ? a : a.text || JSON.stringify(a)))));
    } else if (item.task === "asr" && data.text) {
      box.append(h("details", { open: true }, h("summary", {}, "Transcript"), h("p", { class: "transcript" }, data.text)));
    }
  }
  return box.childElementCount ? box : null;
}

/**
 * @param {any} meeting
 * @param {Recording} recording
 * @param {() => void} reload
 */
async function recordingItem(meeting, recording, reload) {
  const player = h("div", { class: "player" });
  const actions = h("div", { class: "row-actions" });
  const thumbnail = h("img", { class: "thumbnail", alt: "", width: 160, height: 90, hidden: true });
  const mediaId = recording.media_id;
  if (mediaId && recording.status === "ready") {
    linkTo(mediaId).then((link) => {
      thumbnail.src = link.thumbnail_url;
      thumbnail.hidden = false;
      thumbnail.addEventListener("error", () => { thumbnail.hidden = true; });
    }, () => {});
    actions.append(
      h("button", { type: "button", onclick: async () => {
        try {
          const link = await linkTo(mediaId);
          player.replaceChildren(h("video", { controls: true, autoplay: true, src: link.url, "aria-label": `Recording of ${meeting.title}` }));
        } catch (error) {
          say(error);
        }
      } }, "Play"),
      h("button", { type: "button", onclick: async () => {
        try {
          const link = await linkTo(mediaId);
          const a = h("a", { href: `${link.url}&download=true`, download: "" });
          document.body.append(a);
          a.click();
          a.remove();
        } catch (error) {
          say(error);
        }
      } }, "Download"),
    );
    if (meeting.host_id === session.user?.id) {
      actions.append(h("button", { type: "button", class: "danger", onclick: async () => {
        if (!window.confirm("Delete this recording for everyone?")) return;
        try {
          await session.api.request(paths.media(mediaId), { method: "DELETE" });
          toast("Recording deleted.");
          reload();
        } catch (error) {
          say(error);
        }
      } }, "Delete"));
    }
  }
  const seconds = Math.round(recording.duration_s || 0);
  const minutes = seconds ? ` · ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}` : "";
  const status = { recording: "recording now", processing: "processing…", ready: "ready", failed: "failed" }[recording.status];
  const item = h("li", { class: "recording", "data-recording": recording.id, "data-status": recording.status },
    thumbnail,
    h("div", { class: "meeting-info" }, h("strong", {}, meeting.title), h("span", { class: "muted" }, `${when(recording.started_at)}${minutes} · ${status}`), actions),
    player);
  if (recording.status === "ready") {
    aiResults(recording.id).then((box) => { if (box) item.append(box); }, () => {});
  }
  return item;
}

export async function show() {
  const list = h("ul", { class: "meetings", id: "recordings" });
  render(h("h1", {}, "Recordings"), h("section", { class: "card" }, list));
  const load = async () => {
    list.replaceChildren(h("li", { class: "muted" }, "Loading…"));
    /** @type {Array<{meeting: any, recording: Recording}>} */
    const found = [];
    try {
      const meetings = await session.api.request(paths.meetings(), { query: { page_size: 100 } });
      const lists = await Promise.all(
        meetings.items.map(async (/** @type {any} */ meeting) => ({
          meeting,
          recordings: /** @type {Recording[]} */ (await session.api.request(paths.recordings(meeting.id))),
        })),
      );
      for (const { meeting, recordings } of lists) for (const recording of recordings) found.push({ meeting, recording });
    } catch (error) {
      list.replaceChildren(h("li", { class: "error" }, error instanceof Error ? error.message : String(error)));
      return;
    }
    found.sort((a, b) => b.recording.started_at.localeCompare(a.recording.started_at));
    const items = await Promise.all(found.map(({ meeting, recording }) => recordingItem(meeting, recording, () => void load())));
    list.replaceChildren(...items);
    if (found.length === 0) list.append(h("li", { class: "muted" }, "No recordings yet. Hosts record from the meeting's control bar."));
  };
  await load();
}
