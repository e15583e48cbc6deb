// @ts-check
/**
 * Media through the SFU: two RTCPeerConnections to the media server, one that publishes this
 * participant's camera (simulcast: three layers), microphone and shared screen, one that
 * receives everyone else's streams. Browsers speak only Parley's signaling; the server relays
 * to the media server. Neither side trickles ICE: the server's descriptions carry its
 * candidates; ours wait for gathering, the answer to the receiving connection only briefly
 * (the server learns any address missing from our connectivity checks).
 *
 * Events, as {@link PeerMesh}'s (detail: an {@link SfuLink}, shaped like a `PeerLink`):
 * `camera`, `screen`, `gone`, and `stats` (detail null), so the room shows both alike.
 * @module sfu
 */
import { LocalMedia, MESH_CAMERA, SFU_CAMERA } from "./media.js";
import { lossSince, qualityLevel } from "./peers.js";
import { SignalingConnection } from "./protocol.js";

/**
 * @typedef {import("./peers.js").Quality} Quality
 * @typedef {import("./protocol.js").SfuStream} SfuStream
 * @typedef {import("./protocol.js").SfuLayer} SfuLayer
 * @typedef {import("./protocol.js").SfuOfferFrame} SfuOfferFrame
 * @typedef {import("./protocol.js").SfuAnswerFrame} SfuAnswerFrame
 */

/** How long a description waits for ICE gathering before it goes out anyway. */
const GATHERING_MS = 2000;

/** How long the answer of the receiving connection waits for ICE gathering (it holds up
 * everything a join receives). */
const ANSWER_GATHERING_MS = 400;

/** How long a publish offer waits for the server's answer. */
const ANSWER_MS = 15_000;

/** How long an offer that came before SFU mode was on stays good for it. */
const EARLY_OFFER_MS = 10_000;

/**
 * The camera's simulcast layers, listed high to low: the order the media server (Janus, rid
 * order "hml") reads them in the SDP.
 * @type {RTCRtpEncodingParameters[]}
 */
const CAMERA_LAYERS = [
  { rid: "h", maxBitrate: 1_500_000 },
  { rid: "m", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "l", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

/**
 * Wait until the connection has gathered its ICE candidates (or `ms` passed).
 * @param {RTCPeerConnection} pc
 * @param {number} ms
 * @returns {Promise<void>}
 */
function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete" || pc.signalingState === "closed") done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** What this client receives of one other participant (the shape of a `PeerLink`). */
export class SfuLink {
  /** @param {string} peerId */
  constructor(peerId) {
    this.peerId = peerId;
    /** @type {MediaStream | null} microphone and camera */
    this.camera = null;
    /** @type {MediaStream | null} */
    this.screen = null;
    /** @type {Quality & {frameWidth: number}} */
    this.quality = { level: "unknown", rttMs: null, lossPct: 0, audioLevel: 0, framesDecoded: 0, audioBytes: 0, frameWidth: 0 };
    this.previousLoss = { lost: 0, received: 0 };
  }
}

/**
 * This participant's two connections to the media server.
 *
 * One session lives as long as the room: {@link start} and {@link close} may alternate as the
 * room switches between mesh and SFU.
 */
export class SfuSession extends EventTarget {
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
    /** @type {Map<string, SfuLink>} everyone we receive, by participant id */
    this.links = new Map();
    /** whether SFU mode is on (between start and close) */
    this.active = false;
    /** bumped by close: work begun before it stops at its next step */
    this.generation = 0;
    /** @type {RTCPeerConnection | null} sends our media */
    this.publisher = null;
    /** @type {RTCPeerConnection | null} receives the others' */
    this.subscriber = null;
    /** @type {RTCRtpTransceiver | null} */
    this.cameraTransceiver = null;
    /** @type {RTCRtpTransceiver | null} */
    this.audioTransceiver = null;
    /** @type {RTCRtpTransceiver | null} */
    this.screenTransceiver = null;
    /** @type {MediaStream | null} our shared screen, while it is shared */
    this.screenStream = null;
    /** @type {Map<string, SfuStream>} what the subscriber's m-lines carry, by mid */
    this.streams = new Map();
    /** @type {{frame: SfuOfferFrame, at: number} | null} an offer that came before SFU mode was on */
    this.earlyOffer = null;
    /** @type {Promise<void>} publish negotiations, one at a time */
    this.publishing = Promise.resolve();
    /** @type {Promise<void>} subscriber offers, in order */
    this.subscribing = Promise.resolve();
    /** @type {{resolve: (sdp: RTCSessionDescriptionInit) => void, reject: (error: Error) => void} | null} */
    this.answerWaiter = null;
    /** an `sfu-join` went out and no offer came since */
    this.joining = false;
    /** @type {Map<string, SfuLayer>} the layer last asked for, by peer */
    this.layers = new Map();
    this.statsTimer = window.setInterval(() => void this.sampleStats(), 1000);
    signaling.on("sfu-answer", (/** @type {SfuAnswerFrame} */ frame) => {
      const waiter = this.answerWaiter;
      this.answerWaiter = null;
      if (waiter && frame.sdp) waiter.resolve(frame.sdp);
    });
    signaling.on("sfu-offer", (/** @type {SfuOfferFrame} */ frame) => {
      this.joining = false;
      if (!this.active) {
        this.earlyOffer = { frame, at: Date.now() };
        return;
      }
      this.subscribing = this.subscribing.then(() => this.onOffer(frame, this.generation));
    });
    signaling.on("sfu-restart", () => this.restart());
  }

  /** Turn SFU mode on: publish our media (the server subscribes us to the others'). */
  start() {
    if (this.active) return;
    this.active = true;
    this.joinEarly();
    // A larger camera first, so that all three simulcast layers are sent from the start.
    this.publishing = this.publishing.then(() => this.media.setCameraSize(SFU_CAMERA));
    this.publish();
    const early = this.earlyOffer;
    this.earlyOffer = null;
    if (early && Date.now() - early.at < EARLY_OFFER_MS) {
      this.subscribing = this.subscribing.then(() => this.onOffer(early.frame, this.generation));
    }
  }

  /** Turn SFU mode off: both connections closed, everyone we received gone. */
  close() {
    const wasActive = this.active;
    this.active = false;
    this.closeConnections();
    this.earlyOffer = null;
    if (wasActive) void this.media.setCameraSize(MESH_CAMERA);
  }

  /**
   * Close both connections (SFU mode stays as it is). Negotiations still pending on them are
   * left behind, not waited for (a closed connection never settles what it had pending); the
   * new generation makes them stop should they ever go on.
   */
  closeConnections() {
    this.generation += 1;
    this.joining = false;
    this.answerWaiter?.reject(new Error("closed"));
    this.answerWaiter = null;
    this.closePublisher();
    this.closeSubscriber();
    this.publishing = Promise.resolve();
    this.subscribing = Promise.resolve();
    this.streams.clear();
    for (const link of [...this.links.values()]) this.forget(link);
  }

  /** The media server restarted: both connections again, from scratch. */
  restart() {
    if (!this.active) return;
    this.closeConnections();
    this.joinEarly();
    this.publish();
  }

  /**
   * Join the SFU room before publishing: the server subscribes us to the others' feeds at once,
   * so what we receive does not wait for our camera to be resized and our offer answered (the
   * first remote frame is what joining is timed by). The publish that follows joins nothing
   * twice.
   */
  joinEarly() {
    this.joining = true;
    this.signaling.send({ type: "sfu-join" });
  }

  /**
   * The server answered an SFU frame with `sfu-unavailable`. A failed publish or join puts the
   * whole room back in the mesh (the server says so with `media-mode` too); a failed layer
   * change or answer changes nothing.
   * @returns {boolean} whether it was our publish or join that failed
   */
  refused() {
    const setup = this.answerWaiter !== null || this.joining;
    this.answerWaiter?.reject(new Error("refused by the media server"));
    this.answerWaiter = null;
    this.joining = false;
    return this.active && setup;
  }

  /**
   * After our signaling came back, or when the publisher's connection failed: a publisher
   * whose connection broke publishes anew, on a new connection. Queued behind the publish
   * negotiation under way (whose answer the server still sends, to the offer it got).
   */
  recover() {
    if (!this.active) return;
    const generation = this.generation;
    this.publishing = this.publishing
      .then(() => {
        if (!this.active || generation !== this.generation) return;
        const state = this.publisher?.connectionState;
        if (this.publisher && state !== "failed" && state !== "closed") return;
        this.closePublisher();
        return this.negotiatePublisher(generation);
      })
      .catch((error) => {
        if (generation === this.generation) console.warn("publishing to the media server again failed", error);
      });
  }

  /** Close the publishing connection (its transceivers go with it). */
  closePublisher() {
    this.publisher?.close();
    this.publisher = null;
    this.cameraTransceiver = null;
    this.audioTransceiver = null;
    this.screenTransceiver = null;
  }

  // --- publishing ------------------------------------------------------------------------

  /** Queue a publish negotiation (each one offers what the publisher carries by then). */
  publish() {
    if (!this.active) return;
    const generation = this.generation;
    this.publishing = this.publishing
      .then(() => this.negotiatePublisher(generation))
      .catch((error) => {
        if (generation === this.generation) console.warn("publishing to the media server failed", error);
      });
  }

  /**
   * The publisher connection, made on first use with our camera, microphone and screen on it.
   * @returns {RTCPeerConnection}
   */
  publisherConnection() {
    if (this.publisher) return this.publisher;
    const pc = new RTCPeerConnection(this.config);
    this.publisher = pc;
    const { stream } = this.media;
    if (this.media.videoTrack) {
      this.cameraTransceiver = pc.addTransceiver(this.media.videoTrack, { direction: "sendonly", streams: [stream], sendEncodings: CAMERA_LAYERS.map((layer) => ({ ...layer })) });
    }
    if (this.media.audioTrack) {
      this.audioTransceiver = pc.addTransceiver(this.media.audioTrack, { direction: "sendonly", streams: [stream] });
    }
    if (this.media.screen && this.screenStream) {
      this.screenTransceiver = pc.addTransceiver(this.media.screen, { direction: "sendonly", streams: [this.screenStream] });
    }
    pc.addEventListener("connectionstatechange", () => {
      if (pc === this.publisher && pc.connectionState === "failed") this.recover();
    });
    return pc;
  }

  /**
   * One publish negotiation: offer (with every candidate in it), the server's answer.
   * @param {number} generation
   */
  async negotiatePublisher(generation) {
    if (!this.active || generation !== this.generation) return;
    const pc = this.publisherConnection();
    const sending = pc.getTransceivers().some((t) => t.sender.track && (t.direction === "sendonly" || t.direction === "sendrecv"));
    if (!sending && !pc.remoteDescription) {
      // Nothing to send (camera and microphone blocked, no screen): only receive.
      this.closePublisher();
      this.joining = true;
      this.signaling.send({ type: "sfu-join" });
      return;
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHERING_MS);
    if (generation !== this.generation || pc.signalingState === "closed") return;
    const description = /** @type {RTCSessionDescription} */ (pc.localDescription);
    const screen = this.screenTransceiver;
    const screenMid = screen && screen.sender.track && screen.direction === "sendonly" ? screen.mid : null;
    /** @type {Promise<RTCSessionDescriptionInit>} */
    const answer = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answerWaiter = null;
        reject(new Error("no answer from the media server"));
      }, ANSWER_MS);
      this.answerWaiter = {
        resolve: (sdp) => {
          clearTimeout(timer);
          resolve(sdp);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
    this.signaling.send({ type: "sfu-publish", sdp: { type: "offer", sdp: description.sdp }, screen_mid: screenMid });
    let sdp;
    try {
      sdp = await answer;
    } catch (error) {
      if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
      throw error;
    }
    if (generation !== this.generation || pc.signalingState !== "have-local-offer") return;
    await pc.setRemoteDescription({ type: "answer", sdp: sdp.sdp });
  }

  /** Camera or microphone changed device: swap tracks; a kind the publisher lacked renegotiates. */
  async replaceLocalTracks() {
    if (!this.active) return;
    if (!this.publisher) {
      // We only received (nothing to send when we came): a device granted since is published.
      if (this.media.stream.getTracks().length > 0) this.publish();
      return;
    }
    const pc = this.publisher;
    const { stream } = this.media;
    let renegotiate = false;
    const video = this.media.videoTrack;
    if (this.cameraTransceiver) {
      if (video && this.cameraTransceiver.sender.track !== video) await this.cameraTransceiver.sender.replaceTrack(video);
    } else if (video) {
      this.cameraTransceiver = pc.addTransceiver(video, { direction: "sendonly", streams: [stream], sendEncodings: CAMERA_LAYERS.map((layer) => ({ ...layer })) });
      renegotiate = true;
    }
    const audio = this.media.audioTrack;
    if (this.audioTransceiver) {
      if (audio && this.audioTransceiver.sender.track !== audio) await this.audioTransceiver.sender.replaceTrack(audio);
    } else if (audio) {
      this.audioTransceiver = pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] });
      renegotiate = true;
    }
    if (renegotiate) this.publish();
  }

  /** Share the screen: one more sendonly video (no simulcast) on the publisher. */
  async startScreen() {
    const track = await this.media.startScreen();
    this.screenStream = new MediaStream([track]);
    if (!this.active) return;
    // A new publisher connection takes the screen on by itself; a running one reuses the
    // transceiver of an earlier share (no m-line per share) or adds one.
    const pc = this.publisherConnection();
    const screen = this.screenTransceiver;
    if (screen) {
      if (screen.sender.track !== track) await screen.sender.replaceTrack(track);
      screen.direction = "sendonly";
    } else {
      this.screenTransceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [this.screenStream] });
    }
    this.publish();
  }

  stopScreen() {
    const screen = this.screenTransceiver;
    this.screenStream = null;
    this.media.stopScreen();
    if (!screen || !this.publisher || this.publisher.signalingState === "closed") return;
    void screen.sender.replaceTrack(null).catch(() => {});
    screen.direction = "inactive";
    this.publish();
  }

  // --- receiving ---------------------------------------------------------------------------

  /**
   * The server's offer for the receiving connection: answer it (candidates included).
   * @param {SfuOfferFrame} frame
   * @param {number} generation
   */
  async onOffer(frame, generation) {
    if (!this.active || generation !== this.generation || !frame.sdp) return;
    const streams = new Map((frame.streams || []).map((s) => [String(s.mid), s]));
    const state = this.subscriber?.connectionState;
    if (state === "failed" || state === "closed") this.closeSubscriber();
    try {
      await this.answerOffer(frame.sdp, streams, generation);
    } catch (error) {
      if (!this.subscriber || generation !== this.generation) return;
      // An offer the old connection cannot take (a new server-side session): a new connection.
      console.warn("renegotiating the receiving connection failed; starting it afresh", error);
      this.closeSubscriber();
      try {
        await this.answerOffer(frame.sdp, streams, generation);
      } catch (again) {
        console.warn("could not receive from the media server", again);
      }
    }
  }

  /**
   * @param {RTCSessionDescriptionInit} offer
   * @param {Map<string, SfuStream>} streams
   * @param {number} generation
   */
  async answerOffer(offer, streams, generation) {
    if (!this.subscriber) this.subscriber = new RTCPeerConnection(this.config);
    const pc = this.subscriber;
    this.streams = streams;
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    if (generation !== this.generation || pc !== this.subscriber) return;
    this.sortTracks();
    // A short wait only: the host candidates come at once, the relay ones may take seconds,
    // and a join waited for them. Whatever is missing, the media server learns from our
    // connectivity checks (peer-reflexive candidates).
    await gathered(pc, ANSWER_GATHERING_MS);
    if (generation !== this.generation || pc !== this.subscriber || pc.signalingState === "closed") return;
    const description = /** @type {RTCSessionDescription} */ (pc.localDescription);
    this.signaling.send({ type: "sfu-subscribe-answer", sdp: { type: "answer", sdp: description.sdp } });
    this.dispatchEvent(new Event("subscribed"));
  }

  /** Close the receiving connection (the layers asked for go with it). */
  closeSubscriber() {
    this.subscriber?.close();
    this.subscriber = null;
    this.layers.clear();
  }

  /**
   * Who sends what: every receiving m-line's track, by the server's stream list, into one
   * camera stream (microphone and camera) and one screen stream per peer.
   */
  sortTracks() {
    const pc = this.subscriber;
    /** @type {Map<string, {camera: MediaStreamTrack[], screen: MediaStreamTrack[]}>} */
    const byPeer = new Map();
    for (const entry of this.streams.values()) {
      if (entry.peer !== this.selfId && !byPeer.has(entry.peer)) byPeer.set(entry.peer, { camera: [], screen: [] });
    }
    for (const transceiver of pc ? pc.getTransceivers() : []) {
      const entry = transceiver.mid === null ? undefined : this.streams.get(transceiver.mid);
      const tracks = entry && byPeer.get(entry.peer);
      if (!entry || !tracks) continue;
      const direction = transceiver.currentDirection;
      if (direction === "inactive" || direction === "stopped" || direction === "sendonly") continue;
      tracks[entry.screen ? "screen" : "camera"].push(transceiver.receiver.track);
    }
    for (const [peerId, tracks] of byPeer) {
      let link = this.links.get(peerId);
      if (!link) {
        link = new SfuLink(peerId);
        this.links.set(peerId, link);
      }
      if (!sameTracks(link.camera, tracks.camera)) {
        link.camera = tracks.camera.length ? new MediaStream(tracks.camera) : null;
        this.emit("camera", link);
      }
      if (!sameTracks(link.screen, tracks.screen)) {
        link.screen = tracks.screen.length ? new MediaStream(tracks.screen) : null;
        this.emit("screen", link);
      }
    }
    for (const link of [...this.links.values()]) if (!byPeer.has(link.peerId)) this.forget(link);
  }

  /**
   * A peer we no longer receive anything of.
   * @param {SfuLink} link
   */
  forget(link) {
    this.links.delete(link.peerId);
    this.layers.delete(link.peerId);
    const hadScreen = link.screen !== null;
    link.camera = null;
    link.screen = null;
    this.emit("camera", link);
    if (hadScreen) this.emit("screen", link);
    this.emit("gone", link);
  }

  /**
   * The peers whose camera video we receive (the ones a layer can be chosen for).
   * @returns {string[]}
   */
  cameraPeers() {
    const peers = new Set();
    for (const entry of this.streams.values()) if (entry.kind === "video" && !entry.screen && entry.peer !== this.selfId) peers.add(entry.peer);
    return [...peers];
  }

  /**
   * Ask the server for one simulcast layer of a peer's camera (sent only when it changes).
   * @param {string} peerId
   * @param {SfuLayer} layer
   */
  setLayer(peerId, layer) {
    if (!this.active || !this.subscriber || this.layers.get(peerId) === layer) return;
    this.layers.set(peerId, layer);
    this.signaling.send({ type: "sfu-layer", peer: peerId, layer });
  }

  // --- stats ---------------------------------------------------------------------------------

  /** Per peer, from the receiving connection: round trip, loss, audio level, frames, width. */
  async sampleStats() {
    const pc = this.subscriber;
    if (!this.active) return;
    if (!pc || pc.connectionState === "closed") {
      this.emit("stats", null);
      return;
    }
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    /** @type {Map<string, string>} receiving track id → mid (for stats without a mid) */
    const midOfTrack = new Map();
    for (const t of pc.getTransceivers()) if (t.mid !== null) midOfTrack.set(t.receiver.track.id, t.mid);
    /** @type {number | null} */
    let rtt = null;
    /** @type {Map<string, {lost: number, received: number, audioLevel: number, framesDecoded: number, audioBytes: number, frameWidth: number}>} */
    const sums = new Map();
    report.forEach((/** @type {any} */ stat) => {
      if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") {
        if (typeof stat.currentRoundTripTime === "number") rtt = stat.currentRoundTripTime * 1000;
      }
      if (stat.type !== "inbound-rtp") return;
      const mid = stat.mid ?? midOfTrack.get(stat.trackIdentifier);
      const entry = mid === undefined ? undefined : this.streams.get(String(mid));
      if (!entry) return;
      let sum = sums.get(entry.peer);
      if (!sum) {
        sum = { lost: 0, received: 0, audioLevel: 0, framesDecoded: 0, audioBytes: 0, frameWidth: 0 };
        sums.set(entry.peer, sum);
      }
      sum.lost += stat.packetsLost || 0;
      sum.received += stat.packetsReceived || 0;
      if (stat.kind === "audio") {
        if (typeof stat.audioLevel === "number") sum.audioLevel = Math.max(sum.audioLevel, stat.audioLevel);
        sum.audioBytes += stat.bytesReceived || 0;
      } else if (!entry.screen) {
        sum.framesDecoded += stat.framesDecoded || 0;
        if (stat.frameWidth) sum.frameWidth = stat.frameWidth;
      }
    });
    const ice = pc.iceConnectionState;
    for (const link of this.links.values()) {
      const sum = sums.get(link.peerId) || { lost: 0, received: 0, audioLevel: 0, framesDecoded: 0, audioBytes: 0, frameWidth: 0 };
      const lossPct = lossSince(link, sum.lost, sum.received);
      const level = qualityLevel(ice, lossPct, rtt);
      const { audioLevel, framesDecoded, audioBytes, frameWidth } = sum;
      link.quality = { level, rttMs: rtt, lossPct, audioLevel, framesDecoded, audioBytes, frameWidth };
    }
    this.emit("stats", null);
  }

  /** Leaving the room: everything off for good. */
  dispose() {
    clearInterval(this.statsTimer);
    this.active = false;
    this.closeConnections();
  }

  /**
   * @param {string} type
   * @param {SfuLink | null} link
   */
  emit(type, link) {
    this.dispatchEvent(new CustomEvent(type, { detail: link }));
  }
}

/**
 * Whether a stream holds exactly these tracks (null: none).
 * @param {MediaStream | null} stream
 * @param {MediaStreamTrack[]} tracks
 */
function sameTracks(stream, tracks) {
  const have = stream ? stream.getTracks() : [];
  return have.length === tracks.length && tracks.every((t) => have.includes(t));
}
