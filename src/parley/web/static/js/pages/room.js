// @ts-check
/**
 * The meeting room: video grid and screen stage, wired to the signaling connection (all room
 * state comes from it) and the media plane (media flows through it: the peer mesh or the SFU).
 * The panels, the control bar and the media plane are their own modules under `room/`: chat,
 * people (lobby and host tools), controls, recording and plane.
 * @module pages/room
 */
import { REACTION_NAMES, icon, reactionFace } from "../icons.js";
import { LocalMedia, watchLevel } from "../media.js";
import { SignalingConnection } from "../protocol.js";
import { h, render, toast } from "../ui.js";
import { Breakouts } from "./room/breakouts.js";
import { Chat } from "./room/chat.js";
import { Controls } from "./room/controls.js";
import { Invite } from "./room/invite.js";
import { Layout } from "./room/layout.js";
import { People } from "./room/people.js";
import { MediaPlane } from "./room/plane.js";
import { Polls } from "./room/polls.js";
import { Recording } from "./room/recording.js";
import { MODERATORS, Tile } from "./room/tile.js";

/**
 * @typedef {import("../protocol.js").Peer} Peer
 * @typedef {import("../protocol.js").Welcome} Welcome
 * @typedef {import("../protocol.js").SettingsFrame} SettingsFrame
 * @typedef {import("../protocol.js").HostStopFrame} HostStopFrame
 * @typedef {import("../protocol.js").UnmuteAllowedFrame} UnmuteAllowedFrame
 * @typedef {import("../protocol.js").MediaKind} MediaKind
 * @typedef {import("./room/plane.js").Link} Link
 * @typedef {import("./room/plane.js").Outbound} Outbound
 */

/**
 * @typedef {object} RoomOptions
 * @property {{id: string, title: string}} meeting
 * @property {string} code
 * @property {SignalingConnection} connection
 * @property {LocalMedia} media
 * @property {Welcome} welcome
 * @property {() => void} onLeave
 * @property {(state: import("../protocol.js").MediaState) => void} [onMediaState] told what
 *   this participant sends whenever it changes (kept for a reload)
 * @property {import("./room/breakouts.js").BreakoutContext} [breakout] how the page moves
 *   between the meeting's rooms, and which one this is
 */

export class Room {
  /** @param {RoomOptions} options */
  constructor(options) {
    this.options = options;
    this.connection = options.connection;
    this.media = options.media;
    const welcome = options.welcome;
    this.self = /** @type {Peer} */ ({ ...welcome.self, media: this.media.state(), hand: false, connected: true, held: welcome.self.held || [] });
    /** @type {Map<string, Peer>} */
    this.peers = new Map(welcome.peers.map((p) => [p.id, p]));
    this.room = welcome.room;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {Array<() => void>} */
    this.stops = [];
    /** a device is being asked for (Unmute or Start camera without one) */
    this.asking = false;
    /** @type {(() => void) | null} stops watching our microphone's level */
    this.stopLevel = null;
    this.plane = new MediaPlane(welcome.self.id, this.connection, this.media, welcome.ice_servers || [], () => this.peers.keys());
    // --- the page's elements ---
    this.grid = h("div", { class: "grid", id: "grid", "aria-label": "Participants' videos" });
    this.stageVideo = h("video", { autoplay: true, playsinline: true, muted: true, id: "stage-video" });
    this.stageLabel = h("p", { class: "stage-label" });
    this.stage = h("div", { class: "stage", id: "stage", hidden: true }, this.stageVideo, this.stageLabel);
    this.banner = h("div", { class: "banner", role: "status", hidden: true }, "Reconnecting…");
    this.lockBadge = h("span", { class: "badge locked", hidden: !this.room.locked }, icon("lock"), "Locked");
    this.recordingBadge = h("span", { class: "badge recording", id: "recording-badge", hidden: !this.room.recording, role: "status" }, icon("record"), "Recording");
    this.layout = new Layout(this);
    this.recording = new Recording(this);
    this.chat = new Chat(this);
    this.people = new People(this, welcome.lobby || []);
    this.controls = new Controls(this);
    this.element = h("section", { class: "room", "data-state": "room", "aria-label": this.options.meeting.title },
      h("header", { class: "room-top" }, h("h1", {}, this.options.meeting.title), this.recordingBadge, this.lockBadge, this.banner),
      this.people.notice.element, this.people.notice.announcer,
      h("div", { class: "room-body" }, h("div", { class: "videos" }, this.stage, this.grid), this.chat.panel, this.people.panel),
      this.controls.element);
    for (const message of welcome.chat_history || []) this.chat.add(message, false);
    this.listen();
    this.polls = new Polls(this); // mounts its button, panel and pop-up into the elements above
    this.invite = new Invite(this); // the Invite button and dialog; the host's "meeting is ready" card
    this.breakouts = new Breakouts(this); // the hosts' panel; a breakout room's bar; the countdown
  }

  /** @returns {MediaPlane} the media plane, by the name the control bar and the recorder use */
  get mesh() {
    return this.plane;
  }

  /** @returns {boolean} */
  get moderator() {
    return MODERATORS.has(this.self.role);
  }

  mount() {
    document.body.classList.add("in-room");
    window.dispatchEvent(new Event("parley:room"));
    render(this.element);
    const selfTile = new Tile(this.self.id, true);
    selfTile.video.srcObject = this.media.stream;
    this.tiles.set(this.self.id, selfTile);
    this.grid.append(selfTile.element);
    for (const peer of this.peers.values()) this.addTile(peer);
    this.plane.start(this.room.media);
    this.plane.layers.watch((peerId) => this.tiles.get(peerId)?.element ?? null);
    this.applyJoinSettings();
    this.refresh();
    this.watchOwnLevel();
    this.stops.push(this.controls.shortcuts());
    // Tiles say when a peer's media does not arrive, even while no link reports stats.
    const arrivals = setInterval(() => this.showStats(), 2000);
    this.stops.push(() => clearInterval(arrivals));
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
      this.people.lobby.delete(peer.id);
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
        if (this.moderator && peer.hand && known && !known.hand) toast(`${peer.display_name} raised their hand.`);
        this.peers.set(peer.id, { ...(known || peer), ...peer });
        if (reconnected) this.plane.peerReconnected(peer.id);
        if (!peer.media.screen) this.updateStage();
      }
      this.refresh();
    });
    this.chat.listen();
    c.on("reaction", ({ from, emoji }) => this.showReaction(from, emoji));
    c.on("mute", (/** @type {HostStopFrame} */ frame) => this.stoppedByHost("audio", frame.held));
    c.on("stop-video", (/** @type {HostStopFrame} */ frame) => this.stoppedByHost("video", frame.held));
    c.on("unmute-allowed", (/** @type {UnmuteAllowedFrame} */ { kinds }) => {
      this.self.held = (this.self.held || []).filter((kind) => !kinds.includes(kind));
      const audio = kinds.includes("audio");
      const video = kinds.includes("video");
      toast(audio && video ? "A host allowed you to unmute and start your camera." : audio ? "A host allowed you to unmute." : "A host allowed you to start your camera.");
      this.refresh();
    });
    this.people.listen();
    c.on("room-updated", (frame) => {
      if (typeof frame.locked === "boolean") this.room.locked = frame.locked;
      if (typeof frame.recording === "boolean") {
        this.room.recording = frame.recording;
        if (!this.recording.active) toast(frame.recording ? "This meeting is being recorded." : "Recording stopped.");
      }
      this.refresh();
    });
    c.on("settings", (/** @type {SettingsFrame} */ { settings }) => {
      const before = this.allowed;
      this.room.settings = settings;
      const now = this.allowed;
      if (before.chat !== now.chat) toast(now.chat ? "Chat is on again." : "A host switched chat off.");
      if (before.screen !== now.screen) toast(now.screen ? "Screen sharing is on again." : "A host switched screen sharing off.");
      if (!now.screen && this.media.screen) void this.controls.toggleScreen();
      this.refresh();
    });
    c.on("error", ({ code, message }) => {
      // An SFU request the media server could not do: the media plane goes back to the mesh
      // where that is called for; nothing to tell the person.
      if (code !== "sfu-unavailable") toast(message, "error");
    });
    c.on("reconnecting", () => { this.banner.hidden = false; });
    c.on("reconnected", (/** @type {Welcome} */ welcome) => {
      this.banner.hidden = true;
      this.room.settings = welcome.room.settings;
      this.self.held = welcome.self.held || [];
      const present = new Set(welcome.peers.map((p) => p.id));
      for (const id of [...this.peers.keys()]) if (!present.has(id)) this.removePeer(id);
      for (const peer of welcome.peers) {
        if (!this.peers.has(peer.id)) this.addTile(peer);
        this.peers.set(peer.id, peer);
      }
      // A rejoin (the resume window had run out) is a new entry: the others dropped their links
      // to us, so ours start over, and the chat is the server's again (what came meanwhile too).
      const rejoined = "rejoined" in this.connection && this.connection.rejoined === true;
      if (rejoined) {
        for (const id of [...this.plane.mesh.links.keys()]) this.plane.left(id);
        this.chat.replay(welcome.chat_history || []);
      }
      this.plane.recover(welcome.room.media);
      if (rejoined && this.plane.mode === "sfu") this.plane.sfu.restart();
      this.sendMediaState();
      this.refresh();
    });
    this.plane.addEventListener("camera", (event) => {
      const link = /** @type {Link} */ (/** @type {CustomEvent} */ (event).detail);
      const tile = this.tiles.get(link.peerId);
      if (tile && tile.video.srcObject !== link.camera) tile.video.srcObject = link.camera;
    });
    this.plane.addEventListener("gone", (event) => {
      const link = /** @type {Link} */ (/** @type {CustomEvent} */ (event).detail);
      const tile = this.tiles.get(link.peerId);
      if (tile) {
        // Counters start again on the peer's next link (SFU or mesh): none of the old ones stay.
        if (tile.video.srcObject && tile.video.srcObject === link.camera) tile.video.srcObject = null;
        tile.showQuality("unknown", null);
        tile.element.dataset.framesDecoded = "0";
        tile.element.dataset.audioBytes = "0";
        tile.element.dataset.frameWidth = "0";
      }
      this.updateStage();
    });
    this.plane.addEventListener("screen", () => this.updateStage());
    this.plane.addEventListener("stats", () => this.showStats());
    this.plane.addEventListener("mode", () => {
      this.room.media = this.plane.mode;
      this.element.dataset.mediaMode = this.plane.mode;
    });
    this.plane.addEventListener("outbound", (event) => {
      const outbound = /** @type {Outbound} */ (/** @type {CustomEvent} */ (event).detail);
      const self = this.tiles.get(this.self.id)?.element;
      if (!self) return;
      self.dataset.outboundVideoStreams = String(outbound.videoStreams);
      self.dataset.outboundEncodings = String(outbound.encodings);
    });
    this.media.addEventListener("screen-ended", () => {
      if (this.plane.screenStream) this.plane.stopScreen();
      this.sendMediaState();
      this.updateStage();
      this.refresh();
    });
  }

  /** @param {Peer} peer */
  addTile(peer) {
    if (this.tiles.has(peer.id)) return;
    const tile = new Tile(peer.id, false, () => this.layout.togglePin(peer.id));
    const link = this.plane.links.get(peer.id);
    if (link?.camera) tile.video.srcObject = link.camera;
    this.tiles.set(peer.id, tile);
    this.grid.append(tile.element);
  }

  /** @param {string} peerId */
  removePeer(peerId) {
    this.peers.delete(peerId);
    this.plane.left(peerId);
    this.tiles.get(peerId)?.element.remove();
    this.tiles.delete(peerId);
    this.updateStage();
    this.refresh();
  }

  /** Redraw everything that depends on room state. */
  refresh() {
    this.layout.apply();
    const count = this.tiles.size - (this.layout.selfHidden ? 1 : 0);
    this.grid.dataset.count = String(count);
    this.grid.style.setProperty("--columns", String(Math.ceil(Math.sqrt(count))));
    this.self.media = this.media.state();
    this.tiles.get(this.self.id)?.update(this.self, true);
    for (const peer of this.peers.values()) this.tiles.get(peer.id)?.update(peer, false);
    this.lockBadge.hidden = !this.room.locked;
    this.recordingBadge.hidden = !this.room.recording;
    this.controls.refresh();
    this.chat.allow(this.allowed.chat);
    this.chat.renderTargets();
    this.people.render();
    this.plane.layers.evaluate();
  }

  /** What the meeting's settings allow this participant (hosts and cohosts: everything). */
  get allowed() {
    const settings = this.room.settings || {};
    return {
      chat: this.moderator || settings.allow_chat !== false,
      screen: this.moderator || settings.allow_screen_share !== false,
    };
  }

  /**
   * A host muted us or stopped our camera (the media server stops it as well); `held`: we may
   * not turn it on again until a host allows it.
   * @param {MediaKind} kind
   * @param {boolean} held
   */
  stoppedByHost(kind, held) {
    if (kind === "audio") this.media.setAudio(false);
    else this.media.setVideo(false);
    if (held && !(this.self.held || []).includes(kind)) this.self.held = [...(this.self.held || []), kind];
    this.sendMediaState();
    this.refresh();
    if (kind === "audio") toast(held ? "A host muted you. You can unmute when a host allows it." : "A host muted your microphone.");
    else toast(held ? "A host turned off your camera. You can start it when a host allows it." : "A host turned off your camera.");
  }

  /**
   * What a host holds off for us now (hosts and cohosts are never held).
   * @param {MediaKind} kind
   * @returns {boolean}
   */
  isHeld(kind) {
    return !this.moderator && (this.self.held || []).includes(kind);
  }

  sendMediaState() {
    const state = this.media.state();
    this.connection.send({ type: "media-state", ...state });
    this.options.onMediaState?.(state);
  }

  /**
   * @param {string} from
   * @param {string} emoji
   */
  showReaction(from, emoji) {
    const tile = this.tiles.get(from);
    if (!tile) return;
    const bubble = h("span", { class: "reaction", role: "img", "aria-label": `Reaction: ${REACTION_NAMES[emoji] || emoji}` }, reactionFace(emoji));
    tile.element.append(bubble);
    setTimeout(() => bubble.remove(), 3000);
  }

  /** The stage shows a shared screen, large: ours, or the first peer's that shares. */
  updateStage() {
    /** @type {MediaStream | null} */
    let stream = null;
    let label = "";
    if (this.media.screen && this.plane.screenStream) {
      stream = this.plane.screenStream;
      label = "You are presenting";
    } else {
      for (const link of this.plane.links.values()) {
        // (Through the SFU a leaver's streams stay until the server's next offer.)
        if (link.screen && this.peers.has(link.peerId)) {
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

  /** Connection quality and the active speaker, from the media plane's getStats samples. */
  showStats() {
    let loudest = null;
    let level = 0.04;
    for (const link of this.plane.links.values()) {
      const tile = this.tiles.get(link.peerId);
      if (!tile) continue;
      tile.showQuality(link.quality.level, link.quality.rttMs);
      tile.element.dataset.framesDecoded = String(link.quality.framesDecoded);
      tile.element.dataset.audioBytes = String(link.quality.audioBytes);
      tile.element.dataset.frameWidth = String(this.plane.frameWidth(link.peerId));
      if (link.quality.audioLevel > level && this.peers.get(link.peerId)?.media.audio) {
        level = link.quality.audioLevel;
        loudest = link.peerId;
      }
    }
    if ((this.selfLevel || 0) > level * 4 && this.media.state().audio) loudest = this.self.id;
    for (const [id, tile] of this.tiles) {
      const peer = this.peers.get(id);
      if (id === this.self.id || !peer) continue;
      tile.showArrival(peer.media.audio || peer.media.video, Number(tile.element.dataset.framesDecoded || 0) + Number(tile.element.dataset.audioBytes || 0) > 0);
    }
    for (const [id, tile] of this.tiles) tile.element.classList.toggle("speaking", id === loudest);
    this.layout.spoke(loudest);
  }

  /**
   * Unmute or Start camera without a device (none when we came, or a blocked one): ask the
   * browser again, and on success start sending it, without leaving the meeting. A kind that
   * comes along unasked (the browser grants both) stays off.
   * @param {MediaKind} kind
   */
  async askForDevice(kind) {
    if (this.asking) return;
    this.asking = true;
    try {
      const had = { audio: this.media.audioTrack !== null, video: this.media.videoTrack !== null };
      await this.media.start();
      const track = kind === "audio" ? this.media.audioTrack : this.media.videoTrack;
      if (!track) {
        toast(this.media.problem || (kind === "audio" ? "No microphone found." : "No camera found."), "error");
        return;
      }
      track.enabled = true;
      const other = kind === "audio" ? this.media.videoTrack : this.media.audioTrack;
      if (other && !had[kind === "audio" ? "video" : "audio"]) other.enabled = false;
      const own = this.tiles.get(this.self.id);
      if (own) own.video.srcObject = this.media.stream;
      this.watchOwnLevel();
      await this.plane.replaceLocalTracks();
      this.sendMediaState();
      this.refresh();
    } finally {
      this.asking = false;
    }
  }

  /** Our own microphone level (the active speaker), on the stream we send now. */
  watchOwnLevel() {
    this.stopLevel?.();
    this.stopLevel = watchLevel(this.media.stream, (level) => { this.selfLevel = level; });
  }

  leave() {
    this.options.onLeave();
  }

  close() {
    this.stopLevel?.();
    this.recording.stop();
    for (const stop of this.stops.splice(0)) stop();
    this.plane.close();
    document.body.classList.remove("in-room");
    window.dispatchEvent(new Event("parley:room"));
  }
}
