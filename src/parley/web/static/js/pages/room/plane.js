// @ts-check
/**
 * The room's media plane: the peer mesh or the SFU session, whichever the server says the
 * room uses now (`media-mode` frames, the welcome's `room.media`). The room sees one set of
 * links and events either way; the plane also picks the simulcast layer of each camera the
 * SFU sends (by tile size and visibility) and samples what this participant sends.
 * @module pages/room/plane
 */
import { LocalMedia } from "../../media.js";
import { PeerMesh } from "../../peers.js";
import { SignalingConnection } from "../../protocol.js";
import { SfuSession } from "../../sfu.js";

/**
 * @typedef {import("../../protocol.js").MediaMode} MediaMode
 * @typedef {import("../../protocol.js").MediaModeFrame} MediaModeFrame
 * @typedef {import("../../protocol.js").ErrorFrame} ErrorFrame
 * @typedef {import("../../protocol.js").SfuLayer} SfuLayer
 * @typedef {import("../../peers.js").Quality} Quality
 */

/**
 * What the room needs of a connection to one peer (a mesh `PeerLink` or an `SfuLink`).
 * @typedef {object} Link
 * @property {string} peerId
 * @property {MediaStream | null} camera
 * @property {MediaStream | null} screen
 * @property {Quality} quality
 */

/**
 * What this participant sends, over all its connections.
 * @typedef {object} Outbound
 * @property {number} videoStreams video streams that have sent bytes (the simulcast layers of
 *   one camera count once)
 * @property {number} encodings outbound video encodings with a rid (simulcast layers)
 */

/** Events passed on from whichever plane is in use. */
const FORWARDED = ["camera", "screen", "gone", "stats"];

/** The mesh's signaling frames: held back from the mesh while the room is on the SFU. */
const MESH_FRAMES = ["offer", "answer", "candidate", "renegotiate"];

/**
 * How recent a held mesh frame must be to be handed to the mesh when the room returns to it
 * (a peer that switched a moment before us already offered; older ones are stale).
 */
const HELD_MS = 10_000;

/**
 * The simulcast layer a tile this wide (CSS pixels) deserves.
 * @param {number} width
 * @returns {SfuLayer}
 */
export function layerForWidth(width) {
  if (width > 640) return "high";
  if (width >= 320) return "medium";
  return "low";
}

export class MediaPlane extends EventTarget {
  /**
   * @param {string} selfId
   * @param {SignalingConnection} signaling
   * @param {LocalMedia} media
   * @param {RTCIceServer[]} iceServers
   * @param {() => Iterable<string>} present the other participants in the room now
   */
  constructor(selfId, signaling, media, iceServers, present) {
    super();
    this.present = present;
    /** @type {Array<{at: number, frame: any}>} mesh frames that came while on the SFU */
    this.held = [];
    // Registered before the mesh's own listeners, so that these run first and can stop them:
    // on the SFU, a peer's late mesh frames must not open mesh links again; a peer that went
    // back to the mesh a moment before us must not have its offer lost.
    for (const type of MESH_FRAMES) {
      signaling.addEventListener(type, (event) => {
        if (this.mode !== "sfu") return;
        event.stopImmediatePropagation();
        const now = Date.now();
        this.held = this.held.filter((held) => now - held.at < HELD_MS);
        this.held.push({ at: now, frame: /** @type {CustomEvent} */ (event).detail });
      });
    }
    this.mesh = new PeerMesh(selfId, signaling, media, iceServers);
    this.sfu = new SfuSession(selfId, signaling, media, iceServers);
    /** @type {MediaMode} */
    this.mode = "mesh";
    this.started = false;
    /** @type {Map<string, number>} inbound camera frame width by peer (mesh) */
    this.meshWidths = new Map();
    this.layers = new LayerPicker(this.sfu);
    for (const type of FORWARDED) {
      this.mesh.addEventListener(type, (event) => {
        if (this.mode === "mesh" || type === "gone") this.forward(type, event);
      });
      this.sfu.addEventListener(type, (event) => {
        if (this.mode === "sfu" || type !== "stats") this.forward(type, event);
      });
    }
    this.sfu.addEventListener("subscribed", () => this.layers.evaluate());
    signaling.on("media-mode", (/** @type {MediaModeFrame} */ frame) => {
      if (frame.mode === "mesh" || frame.mode === "sfu") this.use(frame.mode);
    });
    signaling.on("error", (/** @type {ErrorFrame} */ frame) => {
      if (frame.code === "sfu-unavailable" && this.sfu.refused()) this.use("mesh");
    });
    this.outboundTimer = window.setInterval(() => void this.sampleOutbound(), 1000);
  }

  /** @returns {Map<string, Link>} everyone we exchange media with, by participant id */
  get links() {
    return this.mode === "sfu" ? this.sfu.links : this.mesh.links;
  }

  /** @returns {MediaStream | null} our shared screen, while it is shared */
  get screenStream() {
    return this.mode === "sfu" ? this.sfu.screenStream : this.mesh.screenStream;
  }

  /**
   * Start in the mode the welcome said (absent: mesh).
   * @param {MediaMode | undefined} mode
   */
  start(mode) {
    this.started = true;
    this.mode = mode === "sfu" ? "sfu" : "mesh";
    if (this.mode === "sfu") this.sfu.start();
    else for (const peerId of this.present()) this.mesh.connect(peerId);
    this.announce();
  }

  /**
   * Switch to a mode (nothing when already in it).
   * @param {MediaMode} mode
   */
  use(mode) {
    if (!this.started || mode === this.mode) return;
    const screen = this.screenStream;
    if (mode === "sfu") {
      this.mode = "sfu";
      for (const peerId of [...this.mesh.links.keys()]) this.mesh.drop(peerId);
      this.sfu.screenStream = screen;
      this.mesh.screenStream = null;
      this.sfu.start();
    } else {
      this.sfu.close();
      this.mode = "mesh";
      this.mesh.screenStream = screen;
      this.sfu.screenStream = null;
      this.replayHeld();
      for (const peerId of this.present()) this.mesh.connect(peerId);
    }
    this.layers.evaluate();
    this.announce();
  }

  /** Hand the mesh what peers sent it lately, in order (their offers, answers, candidates). */
  replayHeld() {
    const now = Date.now();
    const present = new Set(this.present());
    const held = this.held.filter((h) => now - h.at < HELD_MS && present.has(h.frame.from));
    this.held = [];
    for (const { frame } of held) {
      if (frame.type === "offer" || frame.type === "answer") void this.mesh.onDescription(frame.from, frame.sdp);
      else if (frame.type === "candidate") void this.mesh.onCandidate(frame.from, frame.candidate);
    }
  }

  /** Tell the room the mode changed (and that the stage may have lost its screen). */
  announce() {
    this.dispatchEvent(new CustomEvent("mode", { detail: this.mode }));
    this.dispatchEvent(new CustomEvent("screen", { detail: null }));
  }

  /**
   * A participant left: its mesh link closes (in SFU mode the server's next offer drops it).
   * @param {string} peerId
   */
  left(peerId) {
    this.mesh.drop(peerId);
    this.meshWidths.delete(peerId);
    this.layers.evaluate();
  }

  /**
   * A peer's signaling resumed after a drop: in the mesh, restart ICE with it.
   * @param {string} peerId
   */
  peerReconnected(peerId) {
    if (this.mode === "mesh") this.mesh.links.get(peerId)?.pc.restartIce();
  }

  /**
   * Our signaling came back (resume): the welcome's mode; links that broke meanwhile mend.
   * @param {MediaMode | undefined} mode
   */
  recover(mode) {
    this.use(mode === "sfu" ? "sfu" : "mesh");
    if (this.mode === "sfu") {
      this.sfu.recover();
    } else {
      for (const peerId of this.present()) if (!this.mesh.links.has(peerId)) this.mesh.connect(peerId);
      this.mesh.recover();
    }
  }

  async startScreen() {
    if (this.mode === "sfu") await this.sfu.startScreen();
    else await this.mesh.startScreen();
  }

  stopScreen() {
    if (this.mode === "sfu") this.sfu.stopScreen();
    else this.mesh.stopScreen();
  }

  async replaceLocalTracks() {
    if (this.mode === "sfu") await this.sfu.replaceLocalTracks();
    else await this.mesh.replaceLocalTracks();
  }

  /**
   * The width of the camera video we receive from a peer (0: none yet).
   * @param {string} peerId
   * @returns {number}
   */
  frameWidth(peerId) {
    if (this.mode === "sfu") return this.sfu.links.get(peerId)?.quality.frameWidth ?? 0;
    return this.meshWidths.get(peerId) ?? 0;
  }

  /** Once a second: what we send over all connections (and, in the mesh, the camera widths). */
  async sampleOutbound() {
    /** @type {Array<{pc: RTCPeerConnection, link: Link | null}>} */
    const connections = [...this.mesh.links.values()].map((link) => ({ pc: link.pc, link }));
    if (this.sfu.publisher) connections.push({ pc: this.sfu.publisher, link: null });
    let videoStreams = 0;
    let encodings = 0;
    for (const { pc, link } of connections) {
      if (pc.connectionState === "closed") continue;
      let report;
      try {
        report = await pc.getStats();
      } catch {
        continue;
      }
      const cameraTrack = link?.camera?.getVideoTracks()[0]?.id;
      /** @type {Set<string>} */
      const sending = new Set();
      report.forEach((/** @type {any} */ stat) => {
        if (stat.type === "outbound-rtp" && stat.kind === "video") {
          if (stat.rid) encodings += 1;
          if (stat.bytesSent > 0) sending.add(String(stat.mid ?? stat.mediaSourceId ?? stat.id));
        }
        if (link && stat.type === "inbound-rtp" && stat.kind === "video" && stat.trackIdentifier === cameraTrack) {
          this.meshWidths.set(link.peerId, stat.frameWidth || 0);
        }
      });
      videoStreams += sending.size;
    }
    /** @type {Outbound} */
    const outbound = { videoStreams, encodings };
    this.dispatchEvent(new CustomEvent("outbound", { detail: outbound }));
  }

  close() {
    clearInterval(this.outboundTimer);
    this.layers.close();
    this.mesh.close();
    this.sfu.dispose();
  }

  /**
   * @param {string} type
   * @param {Event} event
   */
  forward(type, event) {
    this.dispatchEvent(new CustomEvent(type, { detail: /** @type {CustomEvent} */ (event).detail }));
  }
}

/**
 * Which simulcast layer of each peer's camera to ask the SFU for: high on a tile wider than
 * 640 CSS pixels, medium from 320, low below, paused while the tile is out of view or the page
 * hidden. Asks again only when the choice changes.
 */
export class LayerPicker {
  /** @param {SfuSession} sfu */
  constructor(sfu) {
    this.sfu = sfu;
    /** @type {(peerId: string) => HTMLElement | null} */
    this.tileOf = () => null;
    /** @type {Set<Element>} tiles at least partly in view */
    this.visible = new Set();
    /** @type {Set<Element>} tiles watched */
    this.watched = new Set();
    this.intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) this.visible.add(entry.target);
        else this.visible.delete(entry.target);
      }
      this.evaluate();
    });
    this.resize = new ResizeObserver(() => this.evaluate());
    this.onVisibility = () => this.evaluate();
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  /**
   * Where the tiles are.
   * @param {(peerId: string) => HTMLElement | null} tileOf a peer's tile element
   */
  watch(tileOf) {
    this.tileOf = tileOf;
    this.evaluate();
  }

  /** Decide (and ask) for every camera the SFU sends; watch tiles not watched yet. */
  evaluate() {
    if (!this.sfu.active) return;
    for (const element of [...this.watched]) {
      if (!element.isConnected) {
        this.intersection.unobserve(element);
        this.resize.unobserve(element);
        this.watched.delete(element);
        this.visible.delete(element);
      }
    }
    for (const peerId of this.sfu.cameraPeers()) {
      const tile = this.tileOf(peerId);
      if (!tile) continue;
      if (!this.watched.has(tile)) {
        // Until the observer's first report, a tile counts as visible.
        this.watched.add(tile);
        this.visible.add(tile);
        this.intersection.observe(tile);
        this.resize.observe(tile);
      }
      /** @type {SfuLayer} */
      const layer = document.hidden || !this.visible.has(tile) ? "paused" : layerForWidth(tile.getBoundingClientRect().width);
      this.sfu.setLayer(peerId, layer);
    }
  }

  close() {
    this.intersection.disconnect();
    this.resize.disconnect();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}
