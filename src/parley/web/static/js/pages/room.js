// @ts-check
/**
 * The meeting room: video grid, screen stage, chat, participants and moderation, controls.
 * All room state comes from the signaling connection; media flows through the peer mesh.
 * @module pages/room
 */
import { LocalMedia, mediaErrorText, watchLevel } from "../media.js";
import { PeerMesh } from "../peers.js";
import { REACTIONS, SignalingConnection } from "../protocol.js";
import { MeetingRecorder } from "../recorder.js";
import { session } from "../session.js";
import { StreamingUpload } from "../tus.js";
import { h, render, toast } from "../ui.js";

/**
 * @typedef {import("../protocol.js").Peer} Peer
 * @typedef {import("../protocol.js").Welcome} Welcome
 * @typedef {import("../protocol.js").ChatMessage} ChatMessage
 * @typedef {import("../protocol.js").SettingsFrame} SettingsFrame
 * @typedef {import("../peers.js").PeerLink} PeerLink
 */

/**
 * @typedef {object} RoomOptions
 * @property {{id: string, title: string}} meeting
 * @property {string} code
 * @property {SignalingConnection} connection
 * @property {LocalMedia} media
 * @property {Welcome} welcome
 * @property {() => void} onLeave
 */

const MODERATORS = new Set(["host", "cohost"]);

/** @param {Peer["role"]} role */
function roleName(role) {
  return { host: "Host", cohost: "Cohost", participant: "", guest: "Guest" }[role] || "";
}

/** One tile of the grid: a participant's camera, name and indicators. */
class Tile {
  /**
   * @param {string} id
   * @param {boolean} self
   */
  constructor(id, self) {
    this.video = h("video", { autoplay: true, playsinline: true, muted: self });
    this.name = h("span", { class: "name" });
    this.indicators = h("span", { class: "indicators" });
    this.quality = h("span", { class: "quality", "data-quality": "unknown", title: "Connection quality" });
    this.element = h(
      "figure",
      { class: self ? "tile self" : "tile", "data-peer-id": id, "data-self": self },
      this.video,
      h("figcaption", {}, this.name, this.indicators, self ? null : this.quality),
    );
  }

  /**
   * @param {Peer} peer
   * @param {boolean} self
   */
  update(peer, self) {
    const role = roleName(peer.role);
    this.name.textContent = `${peer.display_name}${self ? " (you)" : ""}${role ? ` · ${role}` : ""}`;
    this.element.dataset.peerName = peer.display_name;
    this.element.dataset.audio = String(peer.media.audio);
    this.element.dataset.video = String(peer.media.video);
    this.element.dataset.hand = String(peer.hand);
    this.element.classList.toggle("camera-off", !peer.media.video);
    this.element.classList.toggle("away", peer.connected === false);
    this.indicators.replaceChildren(
      peer.media.audio ? "" : h("span", { class: "muted-mic", title: "Microphone off", "aria-label": "microphone off" }, "🔇"),
      peer.hand ? h("span", { class: "hand", title: "Hand raised", "aria-label": "hand raised" }, "✋") : "",
      peer.connected === false ? h("span", { title: "Reconnecting" }, "⟳") : "",
    );
  }
}

export class Room {
  /** @param {RoomOptions} options */
  constructor(options) {
    this.options = options;
    this.connection = options.connection;
    this.media = options.media;
    const welcome = options.welcome;
    this.self = /** @type {Peer} */ ({ ...welcome.self, media: this.media.state(), hand: false, connected: true });
    /** @type {Map<string, Peer>} */
    this.peers = new Map(welcome.peers.map((p) => [p.id, p]));
    /** @type {Map<string, Peer>} */
    this.lobby = new Map((welcome.lobby || []).map((p) => [p.id, p]));
    this.room = welcome.room;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    this.unread = 0;
    /** @type {Array<() => void>} */
    this.stops = [];
    this.mesh = new PeerMesh(welcome.self.id, this.connection, this.media, welcome.ice_servers || []);
    // --- the page's elements ---
    this.grid = h("div", { class: "grid", id: "grid", "aria-label": "Participants' videos" });
    this.stageVideo = h("video", { autoplay: true, playsinline: true, muted: true, id: "stage-video" });
    this.stageLabel = h("p", { class: "stage-label" });
    this.stage = h("div", { class: "stage", id: "stage", hidden: true }, this.stageVideo, this.stageLabel);
    this.banner = h("div", { class: "banner", role: "status", hidden: true }, "Reconnecting…");
    this.lockBadge = h("span", { class: "badge", hidden: !this.room.locked }, "🔒 locked");
    this.recordingBadge = h("span", { class: "badge recording", id: "recording-badge", hidden: !this.room.recording, role: "status" }, "● Recording");
    /** @type {MeetingRecorder | null} */
    this.recorder = null;
    /** @type {string | null} */
    this.recordingId = null;
    this.chatLog = h("ol", { class: "chat-log", id: "chat-log", "aria-live": "polite" });
    this.chatTo = h("select", { id: "chat-to", "aria-label": "Send to" });
    this.chatText = h("input", { id: "chat-text", name: "text", maxlength: 4000, autocomplete: "off", placeholder: "Message", "aria-label": "Message" });
    this.chatSend = h("button", { type: "submit" }, "Send");
    const chatForm = h("form", { class: "chat-form", id: "chat-form" }, this.chatTo, this.chatText, this.chatSend);
    chatForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.chatText.value.trim();
      if (!text) return;
      const to = this.chatTo.value;
      this.connection.send(to ? { type: "chat", text, to } : { type: "chat", text });
      this.chatText.value = "";
    });
    this.chatPanel = h("aside", { class: "panel", id: "chat-panel", hidden: true, "aria-label": "Chat" }, h("h2", {}, "Chat"), this.chatLog, chatForm);
    this.peopleList = h("ul", { class: "people", id: "people" });
    this.lobbyList = h("ul", { class: "people", id: "lobby" });
    this.lobbySection = h("section", { hidden: true }, h("h3", {}, "Waiting to join"), this.lobbyList);
    this.roomActions = h("div", { class: "row-actions", hidden: !this.moderator });
    this.peoplePanel = h("aside", { class: "panel", id: "people-panel", hidden: true, "aria-label": "Participants" }, h("h2", {}, "Participants"), this.lobbySection, this.peopleList, this.roomActions);

    this.micButton = this.control("mic", "Microphone", () => this.toggleAudio());
    this.camButton = this.control("cam", "Camera", () => this.toggleVideo());
    this.screenButton = this.control("screen", "Share screen", () => void this.toggleScreen());
    this.handButton = this.control("hand", "Raise hand", () => this.toggleHand());
    this.reactionMenu = h("div", { class: "reactions", hidden: true, role: "menu" },
      ...REACTIONS.map((emoji) => h("button", { type: "button", role: "menuitem", "aria-label": `React ${emoji}`, onclick: () => { this.connection.send({ type: "reaction", emoji }); this.reactionMenu.hidden = true; } }, emoji)));
    const reactButton = this.control("react", "Reactions", () => { this.reactionMenu.hidden = !this.reactionMenu.hidden; });
    this.chatBadge = h("span", { class: "badge count", hidden: true, "aria-label": "unread messages" });
    this.chatButton = this.control("chat", "Chat", () => this.togglePanel(this.chatPanel));
    this.chatButton.append(this.chatBadge);
    const peopleButton = this.control("people", "Participants", () => this.togglePanel(this.peoplePanel));
    this.recordButton = this.control("record", "Record", () => void this.toggleRecording());
    const leaveButton = h("button", { type: "button", class: "danger", id: "leave", onclick: () => this.leave() }, "Leave");
    this.controls = h("div", { class: "controls", role: "toolbar", "aria-label": "Meeting controls" },
      this.micButton, this.camButton, this.screenButton, this.handButton,
      h("div", { class: "react-wrap" }, reactButton, this.reactionMenu), this.chatButton, peopleButton, this.recordButton, leaveButton);
    this.element = h("section", { class: "room", "data-state": "room", "aria-label": this.options.meeting.title },
      h("header", { class: "room-top" }, h("h1", {}, this.options.meeting.title), this.recordingBadge, this.lockBadge, this.banner),
      h("div", { class: "room-body" }, h("div", { class: "videos" }, this.stage, this.grid), this.chatPanel, this.peoplePanel),
      this.controls);
    for (const message of welcome.chat_history || []) this.addChat(message, false);
    this.listen();
  }

  /** @returns {boolean} */
  get moderator() {
    return MODERATORS.has(this.self.role);
  }

  /**
   * A toggle button of the control bar.
   * @param {string} id
   * @param {string} label
   * @param {() => void} action
   */
  control(id, label, action) {
    return h("button", { type: "button", id: `control-${id}`, class: "control", "aria-pressed": "false", onclick: action }, label);
  }

  mount() {
    document.body.classList.add("in-room");
    window.dispatchEvent(new Event("parley:room"));
    render(this.element);
    const selfTile = new Tile(this.self.id, true);
    selfTile.video.srcObject = this.media.stream;
    this.tiles.set(this.self.id, selfTile);
    this.grid.append(selfTile.element);
    for (const peer of this.peers.values()) {
      this.addTile(peer);
      this.mesh.connect(peer.id);
    }
    this.applyJoinSettings();
    this.refresh();
    this.stops.push(watchLevel(this.media.stream, (level) => { this.selfLevel = level; }));
    const keys = (/** @type {KeyboardEvent} */ event) => {
      const target = /** @type {HTMLElement} */ (event.target);
      if (event.ctrlKey || event.metaKey || event.altKey || target.closest("input, textarea, select")) return;
      if (event.key === "m") this.toggleAudio();
      if (event.key === "v") this.toggleVideo();
    };
    document.addEventListener("keydown", keys);
    this.stops.push(() => document.removeEventListener("keydown", keys));
  }

  applyJoinSettings() {
    const settings = this.room.settings || {};
    if (settings.mute_on_join && !this.moderator) this.media.setAudio(false);
    if (settings.video_off_on_join && !this.moderator) this.media.setVideo(false);
    this.sendMediaState();
  }

  listen() {
    const c = this.connection;
    c.on("peer-joined", ({ peer }) => {
      this.peers.set(peer.id, peer);
      this.lobby.delete(peer.id);
      this.addTile(peer);
      this.refresh();
    });
    c.on("peer-left", ({ peer }) => this.removePeer(peer));
    c.on("peer-updated", ({ peer, reconnected }) => {
      if (peer.id === this.self.id) {
        const wasModerator = this.moderator;
        this.self = { ...this.self, ...peer };
        if (!wasModerator && this.moderator) toast("You are now a cohost.");
      } else {
        const known = this.peers.get(peer.id);
        this.peers.set(peer.id, { ...(known || peer), ...peer });
        if (reconnected) this.mesh.links.get(peer.id)?.pc.restartIce();
        if (!peer.media.screen) this.updateStage();
      }
      this.refresh();
    });
    c.on("chat", (message) => this.addChat(message, true));
    c.on("reaction", ({ from, emoji }) => this.showReaction(from, emoji));
    c.on("mute", () => {
      this.media.setAudio(false);
      this.sendMediaState();
      this.refresh();
      toast("A host muted your microphone.");
    });
    c.on("lobby-request", ({ participant }) => {
      this.lobby.set(participant.id, participant);
      toast(`${participant.display_name} is waiting to join.`);
      this.refresh();
    });
    c.on("lobby-left", ({ peer }) => {
      this.lobby.delete(peer);
      this.refresh();
    });
    c.on("lobby", ({ lobby }) => {
      this.lobby = new Map(lobby.map((/** @type {Peer} */ p) => [p.id, p]));
      this.refresh();
    });
    c.on("room-updated", (frame) => {
      if (typeof frame.locked === "boolean") this.room.locked = frame.locked;
      if (typeof frame.recording === "boolean") {
        this.room.recording = frame.recording;
        if (!this.recorder) toast(frame.recording ? "This meeting is being recorded." : "Recording stopped.");
      }
      this.refresh();
    });
    c.on("settings", (/** @type {SettingsFrame} */ { settings }) => {
      const before = this.allowed;
      this.room.settings = settings;
      const now = this.allowed;
      if (before.chat !== now.chat) toast(now.chat ? "Chat is on again." : "A host switched chat off.");
      if (before.screen !== now.screen) toast(now.screen ? "Screen sharing is on again." : "A host switched screen sharing off.");
      if (!now.screen && this.media.screen) void this.toggleScreen();
      this.refresh();
    });
    c.on("error", ({ message }) => toast(message, "error"));
    c.on("reconnecting", () => { this.banner.hidden = false; });
    c.on("reconnected", (/** @type {Welcome} */ welcome) => {
      this.banner.hidden = true;
      this.room.settings = welcome.room.settings;
      const present = new Set(welcome.peers.map((p) => p.id));
      for (const id of [...this.peers.keys()]) if (!present.has(id)) this.removePeer(id);
      for (const peer of welcome.peers) {
        if (!this.peers.has(peer.id)) this.addTile(peer);
        this.peers.set(peer.id, peer);
        if (!this.mesh.links.has(peer.id)) this.mesh.connect(peer.id);
      }
      this.mesh.recover();
      this.sendMediaState();
      this.refresh();
    });
    this.mesh.addEventListener("camera", (event) => {
      const link = /** @type {PeerLink} */ (/** @type {CustomEvent} */ (event).detail);
      const tile = this.tiles.get(link.peerId);
      if (tile && tile.video.srcObject !== link.camera) tile.video.srcObject = link.camera;
    });
    this.mesh.addEventListener("screen", () => this.updateStage());
    this.mesh.addEventListener("stats", () => this.showStats());
    this.media.addEventListener("screen-ended", () => {
      if (this.mesh.screenStream) this.mesh.stopScreen();
      this.sendMediaState();
      this.updateStage();
      this.refresh();
    });
  }

  /** @param {Peer} peer */
  addTile(peer) {
    if (this.tiles.has(peer.id)) return;
    const tile = new Tile(peer.id, false);
    const link = this.mesh.links.get(peer.id);
    if (link?.camera) tile.video.srcObject = link.camera;
    this.tiles.set(peer.id, tile);
    this.grid.append(tile.element);
  }

  /** @param {string} peerId */
  removePeer(peerId) {
    this.peers.delete(peerId);
    this.mesh.drop(peerId);
    this.tiles.get(peerId)?.element.remove();
    this.tiles.delete(peerId);
    this.updateStage();
    this.refresh();
  }

  /** Redraw everything that depends on room state. */
  refresh() {
    const count = this.tiles.size;
    this.grid.dataset.count = String(count);
    this.grid.style.setProperty("--columns", String(Math.ceil(Math.sqrt(count))));
    this.self.media = this.media.state();
    this.tiles.get(this.self.id)?.update(this.self, true);
    for (const peer of this.peers.values()) this.tiles.get(peer.id)?.update(peer, false);
    const audio = this.media.state().audio;
    const video = this.media.state().video;
    this.setPressed(this.micButton, audio, audio ? "Mute (m)" : "Unmute (m)");
    this.setPressed(this.camButton, video, video ? "Stop camera (v)" : "Start camera (v)");
    this.setPressed(this.screenButton, this.media.screen !== null, this.media.screen ? "Stop sharing" : "Share screen");
    this.setPressed(this.handButton, this.self.hand, this.self.hand ? "Lower hand" : "Raise hand");
    this.lockBadge.hidden = !this.room.locked;
    this.recordingBadge.hidden = !this.room.recording;
    this.applyRoomSettings();
    this.recordButton.hidden = !this.moderator;
    this.setPressed(this.recordButton, this.recorder !== null, this.recorder ? "Stop recording" : "Record");
    this.renderChatTargets();
    this.renderPeople();
  }

  /**
   * @param {HTMLButtonElement} button
   * @param {boolean} on
   * @param {string} label
   */
  setPressed(button, on, label) {
    button.setAttribute("aria-pressed", String(on));
    const badge = button.querySelector(".badge");
    button.textContent = label;
    if (badge) button.append(badge);
  }

  /** What the meeting's settings allow this participant (hosts and cohosts: everything). */
  get allowed() {
    const settings = this.room.settings || {};
    return {
      chat: this.moderator || settings.allow_chat !== false,
      screen: this.moderator || settings.allow_screen_share !== false,
    };
  }

  /** Chat and screen sharing follow the settings as they are now (they may change live). */
  applyRoomSettings() {
    const allowed = this.allowed;
    this.chatText.disabled = !allowed.chat;
    this.chatTo.disabled = !allowed.chat;
    this.chatSend.disabled = !allowed.chat;
    this.chatText.placeholder = allowed.chat ? "Message" : "Only hosts can chat in this meeting";
    this.screenButton.disabled = !allowed.screen && !this.media.screen;
    this.screenButton.title = allowed.screen ? "" : "Screen sharing is off in this meeting";
  }

  renderChatTargets() {
    const current = this.chatTo.value;
    this.chatTo.replaceChildren(
      h("option", { value: "" }, "Everyone"),
      ...[...this.peers.values()].map((p) => h("option", { value: p.id, selected: p.id === current }, `${p.display_name} (private)`)),
    );
  }

  renderPeople() {
    const moderator = this.moderator;
    const row = (/** @type {Peer} */ peer, /** @type {boolean} */ self) => {
      const actions = h("span", { class: "row-actions" });
      if (moderator && !self && peer.role !== "host") {
        actions.append(
          h("button", { type: "button", "data-action": "mute", disabled: !peer.media.audio, onclick: () => this.connection.send({ type: "mute", peer: peer.id }) }, "Mute"),
          h("button", { type: "button", class: "danger", "data-action": "remove", onclick: () => {
            if (window.confirm(`Remove ${peer.display_name}? They cannot come back.`)) this.connection.send({ type: "remove", peer: peer.id });
          } }, "Remove"),
        );
        if (peer.role !== "guest") {
          const next = peer.role === "cohost" ? "participant" : "cohost";
          actions.append(h("button", { type: "button", "data-action": "role", onclick: () => this.connection.send({ type: "role", peer: peer.id, role: next }) }, next === "cohost" ? "Make cohost" : "Remove cohost"));
        }
      }
      return h("li", { "data-peer-id": peer.id },
        h("span", {}, peer.display_name, self ? " (you)" : "", roleName(peer.role) ? ` · ${roleName(peer.role)}` : "", peer.media.audio ? "" : " 🔇", peer.hand ? " ✋" : ""),
        actions);
    };
    this.peopleList.replaceChildren(row(this.self, true), ...[...this.peers.values()].map((p) => row(p, false)));
    this.lobbySection.hidden = !moderator || this.lobby.size === 0;
    this.lobbyList.replaceChildren(...[...this.lobby.values()].map((p) => h("li", { "data-peer-id": p.id },
      h("span", {}, p.display_name, roleName(p.role) ? ` · ${roleName(p.role)}` : ""),
      h("span", { class: "row-actions" },
        h("button", { type: "button", class: "primary", "data-action": "admit", onclick: () => this.connection.send({ type: "admit", peer: p.id }) }, "Admit"),
        h("button", { type: "button", "data-action": "deny", onclick: () => this.connection.send({ type: "deny", peer: p.id }) }, "Deny")))));
    this.roomActions.hidden = !moderator;
    this.roomActions.replaceChildren(
      h("button", { type: "button", id: "lock", onclick: () => this.connection.send({ type: "lock", locked: !this.room.locked }) }, this.room.locked ? "Unlock meeting" : "Lock meeting"),
      h("button", { type: "button", class: "danger", id: "end-for-all", onclick: () => {
        if (window.confirm("End the meeting for everyone?")) this.connection.send({ type: "end" });
      } }, "End for all"),
    );
  }

  /**
   * @param {ChatMessage} message
   * @param {boolean} fresh counts as unread when the chat is closed
   */
  addChat(message, fresh) {
    const mine = message.from === this.self.id;
    const privateTo = message.to ? (message.to === this.self.id ? "to you" : `to ${this.peers.get(message.to)?.display_name || "someone"}`) : "";
    this.chatLog.append(h("li", { class: mine ? "mine" : "", "data-private": String(Boolean(message.to)), "data-from": message.from },
      h("span", { class: "from" }, mine ? "You" : message.from_name, privateTo ? ` (private, ${privateTo})` : ""),
      h("time", { datetime: message.ts }, new Date(message.ts).toLocaleTimeString(undefined, { timeStyle: "short" })),
      h("p", { class: "text" }, message.text)));
    this.chatLog.scrollTop = this.chatLog.scrollHeight;
    if (fresh && !mine && this.chatPanel.hidden) {
      this.unread += 1;
      this.chatBadge.textContent = String(this.unread);
      this.chatBadge.hidden = false;
    }
  }

  /**
   * @param {string} from
   * @param {string} emoji
   */
  showReaction(from, emoji) {
    const tile = this.tiles.get(from);
    if (!tile) return;
    const bubble = h("span", { class: "reaction", "aria-label": `reaction ${emoji}` }, emoji);
    tile.element.append(bubble);
    setTimeout(() => bubble.remove(), 3000);
  }

  /** @param {HTMLElement} panel */
  togglePanel(panel) {
    const open = panel.hidden;
    this.chatPanel.hidden = true;
    this.peoplePanel.hidden = true;
    panel.hidden = !open;
    this.setPressed(this.chatButton, !this.chatPanel.hidden, "Chat");
    if (panel === this.chatPanel && open) {
      this.unread = 0;
      this.chatBadge.hidden = true;
      this.chatText.focus();
    }
  }

  sendMediaState() {
    this.connection.send({ type: "media-state", ...this.media.state() });
  }

  toggleAudio() {
    if (!this.media.audioTrack) {
      toast(this.media.problem || "No microphone.", "error");
      return;
    }
    this.media.setAudio(!this.media.audioTrack.enabled);
    this.sendMediaState();
    this.refresh();
  }

  toggleVideo() {
    if (!this.media.videoTrack) {
      toast(this.media.problem || "No camera.", "error");
      return;
    }
    this.media.setVideo(!this.media.videoTrack.enabled);
    this.sendMediaState();
    this.refresh();
  }

  async toggleScreen() {
    if (this.media.screen) {
      this.mesh.stopScreen();
    } else {
      try {
        await this.mesh.startScreen();
      } catch (error) {
        if (!(error instanceof DOMException && error.name === "NotAllowedError")) toast(mediaErrorText(error), "error");
        return;
      }
    }
    this.sendMediaState();
    this.updateStage();
    this.refresh();
  }

  /** Record the meeting in this browser, streaming it to media-service as it goes. */
  async toggleRecording() {
    const meetingId = this.options.meeting.id;
    if (this.recorder) {
      const recorder = this.recorder;
      this.recorder = null;
      this.connection.send({ type: "recording", active: false });
      this.refresh();
      try {
        await recorder.stop();
        toast("Recording saved. It appears under Recordings once processed.");
      } catch (error) {
        toast(`The recording could not be saved: ${error instanceof Error ? error.message : error}`, "error");
        await session.api.request(`/api/v1/meetings/${meetingId}/recordings/${this.recordingId}`, { method: "PATCH", json: { status: "failed" } }).catch(() => {});
      }
      return;
    }
    try {
      const recording = await session.api.request(`/api/v1/meetings/${meetingId}/recordings`, { method: "POST" });
      this.recordingId = recording.id;
      const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
      const upload = new StreamingUpload(() => session.accessToken, {
        filename: `${this.options.meeting.title}-${stamp}.webm`,
        content_type: "video/webm",
        kind: "recording",
        meeting_id: meetingId,
        recording_id: recording.id,
      });
      const recorder = new MeetingRecorder({
        videos: () => [
          ...(this.stage.hidden ? [] : [this.stageVideo]),
          ...[...this.tiles.values()].filter((t) => !t.element.classList.contains("camera-off")).map((t) => t.video),
        ],
        audio: () => [this.media.stream, ...[...this.mesh.links.values()].flatMap((l) => (l.camera ? [l.camera] : []))],
      }, upload);
      await recorder.start();
      this.recorder = recorder;
      this.connection.send({ type: "recording", active: true });
    } catch (error) {
      toast(`Recording could not start: ${error instanceof Error ? error.message : error}`, "error");
    }
    this.refresh();
  }

  toggleHand() {
    this.self.hand = !this.self.hand;
    this.connection.send({ type: "hand", raised: this.self.hand });
    this.refresh();
  }

  /** The stage shows a shared screen, large: ours, or the first peer's that shares. */
  updateStage() {
    /** @type {MediaStream | null} */
    let stream = null;
    let label = "";
    if (this.media.screen && this.mesh.screenStream) {
      stream = this.mesh.screenStream;
      label = "You are presenting";
    } else {
      for (const link of this.mesh.links.values()) {
        if (link.screen) {
          stream = link.screen;
          label = `${this.peers.get(link.peerId)?.display_name || "Someone"} is presenting`;
          break;
        }
      }
    }
    this.stage.hidden = stream === null;
    this.element.classList.toggle("presenting", stream !== null);
    if (this.stageVideo.srcObject !== stream) this.stageVideo.srcObject = stream;
    this.stageLabel.textContent = label;
  }

  /** Connection quality and the active speaker, from the mesh's getStats samples. */
  showStats() {
    let loudest = null;
    let level = 0.04;
    for (const link of this.mesh.links.values()) {
      const tile = this.tiles.get(link.peerId);
      if (!tile) continue;
      tile.quality.dataset.quality = link.quality.level;
      tile.quality.textContent = { good: "▂▄▆", fair: "▂▄", poor: "▂", unknown: "…" }[link.quality.level];
      tile.quality.title = `Connection: ${link.quality.level}${link.quality.rttMs !== null ? `, ${Math.round(link.quality.rttMs)} ms` : ""}`;
      tile.element.dataset.framesDecoded = String(link.quality.framesDecoded);
      tile.element.dataset.audioBytes = String(link.quality.audioBytes);
      if (link.quality.audioLevel > level && this.peers.get(link.peerId)?.media.audio) {
        level = link.quality.audioLevel;
        loudest = link.peerId;
      }
    }
    if ((this.selfLevel || 0) > level * 4 && this.media.state().audio) loudest = this.self.id;
    for (const [id, tile] of this.tiles) tile.element.classList.toggle("speaking", id === loudest);
  }

  leave() {
    this.options.onLeave();
  }

  close() {
    if (this.recorder) {
      this.connection.send({ type: "recording", active: false });
      void this.recorder.stop().catch(() => {});
      this.recorder = null;
    }
    for (const stop of this.stops.splice(0)) stop();
    this.mesh.close();
    document.body.classList.remove("in-room");
    window.dispatchEvent(new Event("parley:room"));
  }
}
