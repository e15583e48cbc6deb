// @ts-check
/**
 * Full-mesh WebRTC: one RTCPeerConnection per other participant, negotiated with the
 * "perfect negotiation" pattern (either side may offer at any time; on a collision the polite
 * side yields), so screen sharing and ICE restarts can renegotiate from either end.
 * @module peers
 */
import { LocalMedia } from "./media.js";
import { SignalingConnection } from "./protocol.js";

/**
 * @typedef {object} Quality
 * @property {"good"|"fair"|"poor"|"unknown"} level
 * @property {number | null} rttMs round trip of the active candidate pair
 * @property {number} lossPct inbound packet loss since the previous sample
 * @property {number} audioLevel the peer's current audio level (0..1)
 * @property {number} framesDecoded video frames decoded so far
 * @property {number} audioBytes audio bytes received so far
 */

/** The description we send: standard fields plus which of our streams is the screen. */
/** @typedef {RTCSessionDescriptionInit & {screen?: string | null}} Description */

/** The connection to one other participant. */
export class PeerLink extends EventTarget {
  /**
   * @param {string} peerId
   * @param {boolean} polite
   * @param {RTCConfiguration} config
   */
  constructor(peerId, polite, config) {
    super();
    this.peerId = peerId;
    this.polite = polite;
    this.pc = new RTCPeerConnection(config);
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    /** @type {string | null} the peer's screen stream id, from its descriptions */
    this.remoteScreenId = null;
    /** @type {MediaStream | null} */
    this.camera = null;
    /** @type {MediaStream | null} */
    this.screen = null;
    /** @type {RTCRtpSender | null} */
    this.screenSender = null;
    /** @type {Quality} */
    this.quality = { level: "unknown", rttMs: null, lossPct: 0, audioLevel: 0, framesDecoded: 0, audioBytes: 0 };
    this.previousLoss = { lost: 0, received: 0 };
  }

  close() {
    this.pc.close();
  }
}

/**
 * Inbound packet loss (%) since the previous sample of this link, which it then replaces.
 * @param {{previousLoss: {lost: number, received: number}}} link
 * @param {number} lost packets lost so far
 * @param {number} received packets received so far
 * @returns {number}
 */
export function lossSince(link, lost, received) {
  const dLost = lost - link.previousLoss.lost;
  const dReceived = received - link.previousLoss.received;
  link.previousLoss = { lost, received };
  return dLost + dReceived > 0 ? (100 * Math.max(0, dLost)) / (dLost + dReceived) : 0;
}

/**
 * A connection's quality in words, from its ICE state, loss and round trip (mesh and SFU alike).
 * @param {RTCIceConnectionState} ice
 * @param {number} lossPct
 * @param {number | null} rtt ms
 * @returns {Quality["level"]}
 */
export function qualityLevel(ice, lossPct, rtt) {
  if (ice === "connected" || ice === "completed") {
    const r = rtt ?? 0;
    return lossPct > 8 || r > 400 ? "poor" : lossPct > 2 || r > 150 ? "fair" : "good";
  }
  return ice === "failed" || ice === "disconnected" ? "poor" : "unknown";
}

/** Everyone this participant exchanges media with. */
export class PeerMesh extends EventTarget {
  /**
   * @param {string} selfId our participant id
   * @param {SignalingConnection} signaling
   * @param {LocalMedia} media
   * @param {RTCIceServer[]} iceServers from the welcome frame
   */
  constructor(selfId, signaling, media, iceServers) {
    super();
    this.selfId = selfId;
    this.signaling = signaling;
    this.media = media;
    /** @type {RTCConfiguration} */
    this.config = { iceServers };
    /** @type {Map<string, PeerLink>} */
    this.links = new Map();
    /** @type {MediaStream | null} */
    this.screenStream = null;
    this.statsTimer = window.setInterval(() => void this.sampleStats(), 1000);
    signaling.on("offer", (frame) => void this.onDescription(frame.from, frame.sdp));
    signaling.on("answer", (frame) => void this.onDescription(frame.from, frame.sdp));
    signaling.on("candidate", (frame) => void this.onCandidate(frame.from, frame.candidate));
    signaling.on("renegotiate", (frame) => this.links.get(frame.from)?.pc.restartIce());
  }

  /**
   * Open a link to a peer already in the room (we are the newcomer: we offer).
   * @param {string} peerId
   * @returns {PeerLink}
   */
  connect(peerId) {
    return this.link(peerId);
  }

  /**
   * The link to a peer, made on first use with our tracks on it.
   * @param {string} peerId
   * @returns {PeerLink}
   */
  link(peerId) {
    const existing = this.links.get(peerId);
    if (existing) return existing;
    // The side with the greater id is polite: it yields when both offer at once.
    const link = new PeerLink(peerId, this.selfId > peerId, this.config);
    this.links.set(peerId, link);
    const { pc } = link;
    for (const track of this.media.stream.getTracks()) pc.addTrack(track, this.media.stream);
    // A kind we cannot send (no device, or a blocked one) is still received: without these the
    // link of someone with nothing to send never negotiated, and their tiles stayed black.
    for (const kind of /** @type {const} */ (["audio", "video"])) {
      if (!this.media.stream.getTracks().some((track) => track.kind === kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    }
    if (this.media.screen && this.screenStream) {
      link.screenSender = pc.addTrack(this.media.screen, this.screenStream);
    }
    pc.addEventListener("negotiationneeded", async () => {
      try {
        link.makingOffer = true;
        await pc.setLocalDescription();
        this.sendDescription(link);
      } catch (error) {
        console.warn("negotiation failed", error);
      } finally {
        link.makingOffer = false;
      }
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) this.signaling.send({ type: "candidate", to: peerId, candidate: candidate.toJSON() });
    });
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.iceConnectionState === "failed") pc.restartIce();
      this.emit("state", link);
    });
    pc.addEventListener("track", ({ track, streams }) => {
      const stream = streams[0] || new MediaStream([track]);
      if (stream.id === link.remoteScreenId) {
        link.screen = stream;
        this.emit("screen", link);
      } else {
        link.camera = stream;
        this.emit("camera", link);
      }
      stream.addEventListener("removetrack", () => {
        if (stream.getTracks().length === 0 && stream === link.screen) {
          link.screen = null;
          this.emit("screen", link);
        }
      });
    });
    this.emit("link", link);
    return link;
  }

  /** @param {PeerLink} link */
  sendDescription(link) {
    const description = link.pc.localDescription;
    if (!description) return;
    /** @type {Description} */
    const sdp = { type: description.type, sdp: description.sdp, screen: this.screenStream?.id ?? null };
    this.signaling.send({ type: description.type === "offer" ? "offer" : "answer", to: link.peerId, sdp });
  }

  /**
   * Perfect negotiation: handle an offer or answer from a peer.
   * @param {string} peerId
   * @param {Description} description
   */
  async onDescription(peerId, description) {
    if (!description || (description.type !== "offer" && description.type !== "answer")) return;
    const link = this.link(peerId);
    const { pc } = link;
    link.remoteScreenId = description.screen ?? null;
    if (!link.remoteScreenId && link.screen) {
      link.screen = null;
      this.emit("screen", link);
    }
    const readyForOffer =
      !link.makingOffer && (pc.signalingState === "stable" || link.settingRemoteAnswer);
    const collision = description.type === "offer" && !readyForOffer;
    link.ignoreOffer = !link.polite && collision;
    if (link.ignoreOffer) return;
    try {
      link.settingRemoteAnswer = description.type === "answer";
      await pc.setRemoteDescription({ type: description.type, sdp: description.sdp });
      link.settingRemoteAnswer = false;
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.sendDescription(link);
      }
    } catch (error) {
      link.settingRemoteAnswer = false;
      console.warn("could not apply a description", error);
    }
  }

  /**
   * @param {string} peerId
   * @param {RTCIceCandidateInit | null} candidate
   */
  async onCandidate(peerId, candidate) {
    const link = this.links.get(peerId) || this.link(peerId);
    try {
      await link.pc.addIceCandidate(candidate || undefined);
    } catch (error) {
      if (!link.ignoreOffer) console.warn("bad candidate", error);
    }
  }

  /**
   * A peer left: close and forget its link.
   * @param {string} peerId
   */
  drop(peerId) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.emit("gone", link);
  }

  /**
   * Camera or microphone changed device: swap the tracks without renegotiating.
   */
  async replaceLocalTracks() {
    for (const link of this.links.values()) {
      for (const sender of link.pc.getSenders()) {
        if (!sender.track || sender === link.screenSender) continue;
        const replacement = sender.track.kind === "audio" ? this.media.audioTrack : this.media.videoTrack;
        if (replacement && replacement !== sender.track) await sender.replaceTrack(replacement);
      }
      // A device granted later goes on the transceiver that only received (a renegotiation).
      for (const transceiver of link.pc.getTransceivers()) {
        if (transceiver.sender.track || transceiver.sender === link.screenSender || transceiver.direction !== "recvonly") continue;
        const track = transceiver.receiver.track.kind === "audio" ? this.media.audioTrack : this.media.videoTrack;
        if (!track) continue;
        await transceiver.sender.replaceTrack(track);
        transceiver.sender.setStreams(this.media.stream);
        transceiver.direction = "sendrecv";
      }
    }
  }

  /** Share the screen with everyone (a new track: each link renegotiates). */
  async startScreen() {
    const track = await this.media.startScreen();
    this.screenStream = new MediaStream([track]);
    for (const link of this.links.values()) {
      link.screenSender = link.pc.addTrack(track, this.screenStream);
    }
  }

  stopScreen() {
    for (const link of this.links.values()) {
      if (link.screenSender) {
        try {
          link.pc.removeTrack(link.screenSender);
        } catch {
          // the connection is already closed
        }
        link.screenSender = null;
      }
    }
    this.screenStream = null;
    this.media.stopScreen();
  }

  /** After our signaling came back: restart ICE on links whose path broke meanwhile. */
  recover() {
    for (const link of this.links.values()) {
      const state = link.pc.iceConnectionState;
      if (state === "failed" || state === "disconnected") link.pc.restartIce();
    }
  }

  /** Read `getStats` of every link: round trip, loss, audio level, frames decoded. */
  async sampleStats() {
    for (const link of this.links.values()) {
      if (link.pc.connectionState === "closed") continue;
      let report;
      try {
        report = await link.pc.getStats();
      } catch {
        continue;
      }
      let rtt = null;
      let lost = 0;
      let received = 0;
      let audioLevel = 0;
      let framesDecoded = 0;
      let audioBytes = 0;
      report.forEach((/** @type {any} */ stat) => {
        if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") {
          if (typeof stat.currentRoundTripTime === "number") rtt = stat.currentRoundTripTime * 1000;
        }
        if (stat.type === "inbound-rtp") {
          lost += stat.packetsLost || 0;
          received += stat.packetsReceived || 0;
          if (stat.kind === "audio" && typeof stat.audioLevel === "number") audioLevel = Math.max(audioLevel, stat.audioLevel);
          if (stat.kind === "video") framesDecoded += stat.framesDecoded || 0;
          if (stat.kind === "audio") audioBytes += stat.bytesReceived || 0;
        }
      });
      const lossPct = lossSince(link, lost, received);
      const level = qualityLevel(link.pc.iceConnectionState, lossPct, rtt);
      link.quality = { level, rttMs: rtt, lossPct, audioLevel, framesDecoded, audioBytes };
    }
    this.emit("stats", null);
  }

  close() {
    clearInterval(this.statsTimer);
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  /**
   * @param {string} type
   * @param {PeerLink | null} link
   */
  emit(type, link) {
    this.dispatchEvent(new CustomEvent(type, { detail: link }));
  }
}
