// @ts-check
/**
 * `/m/{code}`: the join page (preview, devices, name, password), the waiting room, and the
 * room itself (in room.js), without reloading between them so the camera stays on. A tab that
 * was in the meeting (a reload, or "Rejoin" after a lost connection) goes straight back in as
 * the same participant, without the form (rejoin.js).
 * @module pages/meeting
 */
import { ApiError, paths } from "../api.js";
import { checkConnectivity, describeCheck, overallVerdict, probeMediaServer } from "../connectivity.js";
import { icon } from "../icons.js";
import { LocalMedia, watchLevel } from "../media.js";
import { SignalingConnection } from "../protocol.js";
import { RejoinRefused, RejoiningConnection, forget, rejoinMeeting, remember, rememberMedia, remembered } from "../rejoin.js";
import { session } from "../session.js";
import { errorLine, field, h, render, showError } from "../ui.js";
import { Room } from "./room.js";
import { pastPolls } from "./room/polls.js";

/**
 * @typedef {object} PublicMeeting
 * @property {string} id
 * @property {string} title
 * @property {string} host_display_name
 * @property {"scheduled"|"live"|"ended"|"cancelled"} status
 * @property {boolean} has_password
 * @property {boolean} allow_guests
 * @property {boolean} waiting_room
 * @property {boolean} [you_host] the signed-in caller hosts it: no password, no waiting room
 */

/** Words for the ways a stay in a meeting can end. */
const ENDINGS = /** @type {Record<string, [string, string]>} */ ({
  "meeting-ended": ["The meeting has ended", "The host ended this meeting for everyone."],
  removed: ["You were removed", "A host removed you from this meeting. You cannot rejoin it."],
  denied: ["You were not let in", "A host declined your request to join."],
  replaced: ["Opened elsewhere", "You joined this meeting from another tab or device."],
  "invalid-token": ["Could not connect", "Your invitation to the room expired. Try joining again."],
  "account-gone": ["Signed out", "Your account was disabled or deleted."],
  lost: ["Connection lost", "The connection to the meeting was lost and could not be restored."],
  flooding: ["Disconnected", "Too many messages were sent too quickly."],
  left: ["You left the meeting", ""],
});

/**
 * A full-page message with a way on.
 * @param {string} title
 * @param {string} text
 * @param {string | null} code rejoin link target, if rejoining makes sense
 */
function message(title, text, code = null) {
  render(
    h(
      "section",
      { class: "card narrow stack", "data-state": "message" },
      h("h1", {}, title),
      text && h("p", {}, text),
      h("p", { class: "row-actions" },
        code && h("a", { class: "button primary", href: `/m/${code}` }, "Rejoin"),
        h("a", { class: "button", href: session.signedIn ? "/" : "/signin" }, session.signedIn ? "Back to your meetings" : "Sign in")),
    ),
  );
}

/**
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string | undefined} current
 */
function fillDevices(select, devices, current) {
  select.replaceChildren(
    ...devices.map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `Device ${i + 1}`)),
  );
  select.disabled = devices.length === 0;
}

/**
 * The connection check: a button, and what it found in plain words (a live region). Two checks
 * run side by side: ICE gathering with the STUN/TURN servers, and a real connection to the
 * media server (a probe it answers and forgets); the media server's result is the headline,
 * the STUN/TURN findings the line below.
 * @param {() => Promise<RTCIceServer[]>} iceServers the servers a call would use
 * @param {() => boolean} gone whether the page was left meanwhile
 */
function connectionCheck(iceServers, gone) {
  const button = h("button", { type: "button", id: "check-connection" }, "Check connection");
  const headline = h("p", { class: "connection-headline" });
  const detail = h("p", { class: "muted" });
  const servers = h("p", { class: "muted connection-servers" });
  const result = h("div", { id: "connection-result", role: "status", hidden: true }, headline, detail, servers);
  /** @type {import("../connectivity.js").ProbeApi} */
  const probes = {
    open: (offer) => session.api.request(paths.connectionCheck(), { method: "POST", json: offer }),
    close: (id) => session.api.request(paths.connectionProbe(id), { method: "DELETE" }),
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.hidden = false;
    for (const name of ["verdict", "media", "path", "via", "relay"]) result.removeAttribute(`data-${name}`);
    headline.textContent = "Checking your connection to the media server…";
    detail.textContent = "";
    servers.textContent = "";
    try {
      const list = await iceServers();
      const [found, media] = await Promise.all([checkConnectivity(list), probeMediaServer(list, probes)]);
      if (gone()) return;
      const words = describeCheck(found, media);
      result.dataset.media = media.status;
      result.dataset.path = media.path || "";
      result.dataset.via = (media.status === "reached" ? media.path === "relay" && media.protocol : found.via) || "";
      result.dataset.relay = found.relay.join(" ");
      result.dataset.verdict = overallVerdict(found, media);
      headline.textContent = words.headline;
      detail.textContent = words.detail;
      servers.textContent = words.servers;
      servers.hidden = !words.servers;
    } catch (failure) {
      result.dataset.verdict = "error";
      headline.textContent = "The check could not run.";
      detail.textContent = failure instanceof Error ? failure.message : String(failure);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "connection-check stack", "aria-labelledby": "connection-check-title" },
    h("h2", { id: "connection-check-title" }, "Connection check"),
    h("p", { class: "muted" }, "Find out whether this browser can reach the media server, directly or only through the relay, before you join."),
    button,
    result,
  );
}

/** @param {Record<string, string>} params */
export async function show(params) {
  const code = params.code.toLowerCase();
  /** @type {PublicMeeting} */
  let meeting;
  try {
    meeting = await session.api.request(paths.meetingByCode(code));
  } catch (error) {
    message("Cannot open this meeting", error instanceof Error ? error.message : String(error));
    return;
  }
  document.title = `${meeting.title} · Parley`;
  if (meeting.status === "ended" || meeting.status === "cancelled") {
    forget(meeting.id);
    message(meeting.status === "ended" ? "This meeting has ended" : "This meeting was cancelled", `“${meeting.title}” is over.`);
    // Its polls and their results, for the people who were in it (CSV for the host).
    const polls = await pastPolls(meeting.id, meeting.you_host === true);
    if (polls) document.querySelector("[data-state=message]")?.append(polls);
    return;
  }

  const media = new LocalMedia();
  // This tab was in the meeting (a reload): back in as the same participant, without the form.
  const saved = remembered(meeting.id);
  /** @type {Room | null} */
  let room = null;
  /** @type {SignalingConnection | null} */
  let connection = null;
  let stopMeter = () => {};
  let finished = false;

  const cleanup = () => {
    finished = true;
    stopMeter();
    room?.close();
    connection?.close();
    media.stop();
  };

  // --- the join page ---------------------------------------------------------------------
  const preview = h("video", { class: "preview", autoplay: true, muted: true, playsinline: true, "aria-label": "Your camera preview" });
  const camera = h("select", { id: "camera", name: "camera" });
  const microphone = h("select", { id: "microphone", name: "microphone" });
  const meter = h("meter", { id: "mic-level", min: 0, max: 1, value: 0, "aria-label": "Microphone level" });
  const mediaProblem = h("p", { class: "warning", role: "alert", hidden: true });
  const micOn = h("input", { type: "checkbox", name: "mic_on", checked: true });
  const camOn = h("input", { type: "checkbox", name: "cam_on", checked: true });
  const error = errorLine();
  const guest = !session.signedIn;
  const blocked = guest && !meeting.allow_guests;
  // The host is asked for neither the password nor admission (the server lets them straight in).
  const hosting = !guest && meeting.you_host === true;
  const askPassword = meeting.has_password && !hosting;

  const showPreview = async () => {
    preview.srcObject = media.stream;
    stopMeter();
    stopMeter = watchLevel(media.stream, (level) => {
      meter.value = level;
    });
    showError(mediaProblem, media.problem);
    const devices = await media.devices();
    fillDevices(camera, devices.video, media.videoTrack?.getSettings().deviceId);
    fillDevices(microphone, devices.audio, media.audioTrack?.getSettings().deviceId);
  };
  const switchDevices = async () => {
    await media.start({ audioDeviceId: microphone.value || undefined, videoDeviceId: camera.value || undefined });
    await showPreview();
  };
  camera.addEventListener("change", () => void switchDevices());
  microphone.addEventListener("change", () => void switchDevices());

  const form = h(
    "form",
    { class: "stack", id: "join-form", "aria-label": "Join the meeting" },
    guest && !blocked && field("Your name", { name: "display_name", required: true, maxlength: 64, autocomplete: "name" }),
    askPassword && field("Meeting password", { name: "password", type: "password", required: guest, autocomplete: "off" }),
    h("label", { class: "field", for: "camera" }, h("span", {}, "Camera"), camera),
    h("label", { class: "field", for: "microphone" }, h("span", {}, "Microphone"), microphone),
    h("div", { class: "inline" }, h("label", { class: "check" }, micOn, "Microphone on"), h("label", { class: "check" }, camOn, "Camera on")),
    error,
    blocked
      ? h("p", {}, "Guests cannot join this meeting. ", h("a", { href: `/signin?next=/m/${code}` }, "Sign in"), " first.")
      : h("button", { type: "submit", class: "primary big", id: "join" }, meeting.waiting_room && !hosting ? "Ask to join" : "Join"),
  );

  const joinPage = () => render(
    h(
      "section",
      { class: "join", "data-state": "join" },
      h("div", { class: "card" }, preview, h("div", { class: "meter-row" }, icon("mic"), meter), mediaProblem),
      h("div", { class: "card stack" },
        h("h1", {}, meeting.title),
        h("p", { class: "muted" }, `Hosted by ${meeting.host_display_name}`, meeting.status === "scheduled" ? " · not started yet" : " · in progress"),
        form,
        connectionCheck(
          // A guest has no TURN credentials before joining: the relays are only asked to answer.
          () => session.api.request(guest ? paths.iceServersToCheck() : paths.iceServers()),
          () => finished,
        )),
    ),
  );
  if (saved) {
    render(h("section", { class: "card narrow stack", "data-state": "rejoining" },
      h("h1", {}, meeting.title),
      h("p", { role: "status" }, "Rejoining the meeting…")));
  } else {
    joinPage();
  }
  // The camera starts while the person reads the page; joining waits for it.
  const mediaReady = media.start().then(() => (finished ? media.stop() : showPreview()));

  // --- joining ---------------------------------------------------------------------------
  // --- breakout rooms: the same page moves between the meeting's rooms ---------------------
  /** this person's participant in the main meeting (breakout calls are made as them) */
  let mainParticipantId = saved ? saved.participant_id : "";
  /** @type {import("./room/breakouts.js").BreakoutPlace | null} null in the main room */
  let place = null;
  /** @type {{participant_id: string, token: string} | null} to rejoin a breakout room after a long drop */
  let breakoutCredential = null;

  /**
   * Into another room of this meeting with its join answer: the old room's media and socket go
   * (the camera and microphone stay), the new room comes with its welcome.
   * @param {import("../rejoin.js").Joined} joined
   * @param {import("./room/breakouts.js").BreakoutPlace | null} where
   */
  const move = (joined, where) => {
    if (finished) return;
    const old = connection;
    place = where;
    room?.close();
    room = null;
    connection = null;
    old?.close();
    if (where) {
      breakoutCredential = { participant_id: joined.participant.id, token: joined.rejoin.token };
    } else {
      breakoutCredential = null;
      mainParticipantId = joined.participant.id;
      const kept = remembered(meeting.id);
      remember(meeting.id, { participant_id: joined.participant.id, token: joined.rejoin.token, audio: kept?.audio ?? true, video: kept?.video ?? true });
    }
    enter(joined);
  };

  /** Back into the main room: the breakout rooms closed, a host moved us, or we chose to. */
  const backToMain = async () => {
    /** @type {import("../rejoin.js").Joined} */
    const joined = await session.api.request(paths.breakouts(meeting.id, "return"), { json: {}, query: guest ? { participant_id: mainParticipantId } : {} });
    move(joined, null);
  };

  /** A new ticket for the breakout room we are in (a drop longer than the resume window). */
  const rejoinBreakout = async () => {
    if (!place || !breakoutCredential) throw new RejoinRefused("lost", "Nothing to come back with.");
    /** @type {import("../rejoin.js").Joined} */
    const joined = await session.api.request(paths.rejoin(place.room.meeting_id), { json: breakoutCredential });
    breakoutCredential = { participant_id: joined.participant.id, token: joined.rejoin.token };
    return joined.signaling.token;
  };

  /** @param {SignalingConnection} conn */
  const waitForEntry = (conn) => {
    conn.on("lobby-wait", () => {
      if (conn !== connection) return;
      render(
        h("section", { class: "card narrow stack", "data-state": "lobby" },
          h("h1", {}, "Waiting for the host"),
          h("p", {}, `The host of “${meeting.title}” will let you in soon.`),
          h("p", { class: "muted" }, "Keep this page open."),
          h("button", { type: "button", onclick: () => { forget(meeting.id); cleanup(); message("You left the meeting", "", code); } }, "Leave")),
      );
    });
    conn.on("welcome", (welcome) => {
      if (conn !== connection || room) return; // a resume's or re-admission's welcome: the room handles it
      stopMeter();
      room = new Room({
        meeting: place ? { id: place.room.meeting_id, title: `${place.room.name} · ${meeting.title}` } : meeting,
        code, connection: conn, media, welcome,
        onLeave: () => { forget(meeting.id); cleanup(); message("You left the meeting", "", code); },
        onMediaState: (state) => rememberMedia(meeting.id, state.audio, state.video),
        breakout: { mainMeetingId: meeting.id, mainParticipantId, place, move, back: backToMain },
      });
      room.mount();
    });
    conn.on("ended", (ended) => {
      if (finished || conn !== connection) return; // a room we moved out of
      if (place && ended.reason === "meeting-ended") {
        // The breakout room ended (the rooms closed): back to the main room, not out.
        backToMain().catch(() => { cleanup(); message("You left the meeting", "The breakout rooms closed.", code); });
        return;
      }
      cleanup();
      // Shut out or over: nothing to come back to. (Lost: "Rejoin" comes back as the same one.)
      if (["removed", "denied", "meeting-ended", "left"].includes(ended.reason)) forget(meeting.id);
      const [title, text] = ENDINGS[ended.reason] || ENDINGS.lost;
      message(title, text, ended.reason === "lost" || ended.reason === "replaced" || ended.reason === "invalid-token" ? code : null);
    });
  };

  /**
   * Into the room (or its lobby) with a join's or rejoin's answer; a connection that resumes
   * after a short drop and rejoins as the same participant after a long one.
   * @param {import("../rejoin.js").Joined} joined
   */
  const enter = (joined) => {
    const rejoin = place ? rejoinBreakout : async () => (await rejoinMeeting(meeting.id)).signaling.token;
    connection = new RejoiningConnection(joined.signaling.url, joined.signaling.token, rejoin);
    waitForEntry(connection);
    connection.open();
  };

  /**
   * A reload: back in with what this tab kept; else the join page, saying why.
   * @param {import("../rejoin.js").RejoinRecord} record
   */
  const comeBack = async (record) => {
    try {
      const joined = await rejoinMeeting(meeting.id);
      mainParticipantId = joined.participant.id;
      await mediaReady;
      if (finished) return;
      micOn.checked = record.audio;
      camOn.checked = record.video;
      media.setAudio(record.audio);
      media.setVideo(record.video);
      enter(joined);
    } catch (failure) {
      if (finished) return;
      if (failure instanceof RejoinRefused && failure.reason === "meeting-ended") {
        cleanup();
        message("This meeting has ended", `“${meeting.title}” is over.`);
        return;
      }
      joinPage();
      showError(error, failure);
      const button = form.querySelector("button[type=submit]");
      if (button instanceof HTMLButtonElement && failure instanceof RejoinRefused && failure.reason === "removed") button.disabled = true;
    }
  };
  if (saved) void comeBack(saved);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    button.disabled = true;
    showError(error, null);
    try {
      await mediaReady;
      const joined = await session.api.request(paths.join(meeting.id), {
        json: {
          display_name: guest ? String(data.get("display_name") || "").trim() : undefined,
          password: askPassword ? String(data.get("password") || "") : undefined,
        },
      });
      media.setAudio(micOn.checked);
      media.setVideo(camOn.checked);
      remember(meeting.id, { participant_id: joined.participant.id, token: joined.rejoin.token, audio: micOn.checked, video: camOn.checked });
      mainParticipantId = joined.participant.id;
      enter(joined);
      button.textContent = "Connecting…";
    } catch (failure) {
      showError(error, failure);
      button.disabled = false;
      if (failure instanceof ApiError && failure.type === "removed") button.disabled = true;
    }
  });
  // Going to another page leaves the meeting (the socket closes with 1000): nothing to come
  // back to. After an ending (a lost connection) what was kept stays, for "Rejoin".
  return () => {
    if (!finished && connection) forget(meeting.id);
    cleanup();
  };
}
