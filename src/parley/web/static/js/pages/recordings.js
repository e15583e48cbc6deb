// @ts-check
/**
 * Recordings of the meetings this person hosted or attended.
 * @module pages/recordings
 */
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
 * Fetch a media file with the bearer token and hand it to the browser as an object URL.
 * @param {string} mediaId
 */
async function objectUrl(mediaId) {
  const response = await session.api.raw(`/api/v1/media/${mediaId}/content`, { headers: { Accept: "*/*" } });
  return URL.createObjectURL(await response.blob());
}

export async function show() {
  const list = h("ul", { class: "meetings", id: "recordings" });
  render(h("h1", {}, "Recordings"), h("section", { class: "card" }, list));
  list.append(h("li", { class: "muted" }, "Loading…"));
  /** @type {Array<{meeting: any, recording: Recording}>} */
  const found = [];
  try {
    const meetings = await session.api.request("/api/v1/meetings", { query: { page_size: 100 } });
    const lists = await Promise.all(
      meetings.items.map(async (/** @type {any} */ meeting) => ({
        meeting,
        recordings: /** @type {Recording[]} */ (await session.api.request(`/api/v1/meetings/${meeting.id}/recordings`)),
      })),
    );
    for (const { meeting, recordings } of lists) for (const recording of recordings) found.push({ meeting, recording });
  } catch (error) {
    list.replaceChildren(h("li", { class: "error" }, error instanceof Error ? error.message : String(error)));
    return;
  }
  found.sort((a, b) => b.recording.started_at.localeCompare(a.recording.started_at));
  list.replaceChildren(
    ...found.map(({ meeting, recording }) => {
      const player = h("div", { class: "player" });
      const actions = h("div", { class: "row-actions" });
      if (recording.media_id && recording.status === "ready") {
        const mediaId = recording.media_id;
        actions.append(
          h("button", { type: "button", onclick: async () => {
            try {
              const video = h("video", { controls: true, src: await objectUrl(mediaId), "aria-label": `Recording of ${meeting.title}` });
              player.replaceChildren(video);
            } catch (error) {
              toast(error instanceof Error ? error.message : String(error), "error");
            }
          } }, "Play"),
          h("button", { type: "button", onclick: async () => {
            try {
              const link = h("a", { href: await objectUrl(mediaId), download: `${meeting.title}.webm` });
              document.body.append(link);
              link.click();
              link.remove();
            } catch (error) {
              toast(error instanceof Error ? error.message : String(error), "error");
            }
          } }, "Download"),
        );
      }
      const minutes = recording.duration_s ? ` · ${Math.round(recording.duration_s / 60)} min` : "";
      return h("li", { class: "meeting", "data-recording": recording.id },
        h("div", { class: "meeting-info" }, h("strong", {}, meeting.title), h("span", { class: "muted" }, `${when(recording.started_at)}${minutes} · ${recording.status}`)),
        actions, player);
    }),
  );
  if (found.length === 0) list.append(h("li", { class: "muted" }, "No recordings yet."));
}
