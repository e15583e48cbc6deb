// @ts-check
/**
 * The signaling protocol (docs/signaling.md) as a library apart from any UI: one
 * {@link SignalingConnection} per meeting, which authenticates, keeps itself alive, resumes
 * after a dropped connection and dispatches every server frame as an event named after its type.
 * @module protocol
 */

/**
 * @typedef {object} MediaState
 * @property {boolean} audio
 * @property {boolean} video
 * @property {boolean} screen
 */

/**
 * What the others see of a participant: the server's `parley.signaling.frames.Peer`, field for field.
 * @typedef {object} Peer
 * @property {string} id participant id
 * @property {string} display_name
 * @property {"host"|"cohost"|"participant"|"guest"} role
 * @property {MediaState} media
 * @property {boolean} hand
 * @property {number | null} [hand_at] when the hand went up (seconds since the epoch, the
 *   server's clock): the hosts' hand queue is ordered by it
 * @property {boolean} [connected]
 * @property {MediaKind[]} [held] what a host holds off (the meeting does not allow self-unmute):
 *   this participant may not turn it on again until a host allows it
 * @property {string} [avatar] a signed-in user's picture (a same-origin path the server built),
 *   shown on their tile while the camera is off
 */

/**
 * What a host can stop at the media server (and, without self-unmute, hold off).
 * @typedef {"audio"|"video"} MediaKind
 */

/**
 * A host muted this client (`mute`) or stopped its camera (`stop-video`); the media server stops
 * it too. `held`: the meeting does not allow self-unmute, so turning it on again is refused until
 * an `unmute-allowed` frame.
 * @typedef {{type: "mute"|"stop-video", from: string, held: boolean}} HostStopFrame
 */

/**
 * A host lifted a hold (`from` absent: the meeting's settings now allow self-unmute): this
 * client may turn these on again itself.
 * @typedef {{type: "unmute-allowed", kinds: MediaKind[], from?: string}} UnmuteAllowedFrame
 */

/**
 * @typedef {object} ChatMessage
 * @property {"chat"} type
 * @property {string} id
 * @property {string} from sender's participant id
 * @property {string} from_name
 * @property {string} text
 * @property {string} [to] recipient (private message)
 * @property {string} ts ISO-8601
 */

/**
 * The meeting's settings (meeting-service's `settings` object; the ones the room acts on here).
 * @typedef {{allow_chat?: boolean, allow_screen_share?: boolean, mute_on_join?: boolean,
 *   video_off_on_join?: boolean, allow_self_unmute?: boolean, auto_cohost?: boolean}
 *   & Record<string, unknown>} RoomSettings (`auto_cohost`: when the last host or cohost leaves,
 *   the server makes the longest-present signed-in participant cohost)
 */

/**
 * @typedef {object} RoomInfo
 * @property {string} meeting_id
 * @property {RoomSettings} settings
 * @property {boolean} recording
 * @property {boolean} locked
 * @property {MediaMode} [media] how media flows now (absent from older servers: "mesh")
 */

/**
 * How a room's media flows: peer to peer between every pair ("mesh"), or through the media
 * server ("sfu": each client sends its media once and receives everyone else's on one
 * connection).
 * @typedef {"mesh"|"sfu"} MediaMode
 */

/**
 * The room switched its media plane (in auto mode: to "sfu" from the third participant on,
 * back to "mesh" when two remain). After a resume the welcome's `room.media` says it instead.
 * @typedef {object} MediaModeFrame
 * @property {"media-mode"} type
 * @property {MediaMode} mode
 */

/**
 * One stream the media server sends this client, by the `mid` of its m-line in the offer.
 * @typedef {object} SfuStream
 * @property {string} mid
 * @property {string} peer the participant whose media it is
 * @property {"audio"|"video"} kind
 * @property {boolean} screen a shared screen (else camera or microphone)
 */

/**
 * The media server's offer for the receiving connection: sent whenever what this client
 * receives changes (the first one sets the connection up; later ones renegotiate it).
 * @typedef {object} SfuOfferFrame
 * @property {"sfu-offer"} type
 * @property {RTCSessionDescriptionInit} sdp
 * @property {SfuStream[]} streams every stream the offer carries, by mid
 */

/**
 * The media server's answer to this client's `sfu-publish`.
 * @typedef {object} SfuAnswerFrame
 * @property {"sfu-answer"} type
 * @property {RTCSessionDescriptionInit} sdp
 */

/**
 * The media server restarted: both SFU connections are gone; publish again from scratch.
 * @typedef {{type: "sfu-restart"}} SfuRestartFrame
 */

/**
 * Which simulcast layer of a peer's camera this client wants ("paused": none, the tile is
 * not visible).
 * @typedef {"high"|"medium"|"low"|"paused"} SfuLayer
 */

/**
 * The usual error frame (`code` e.g. "unknown-peer", "forbidden"; "sfu-unavailable": the media
 * server could not do an SFU frame; after a failed `sfu-publish` or `sfu-join` the room goes
 * back to the mesh).
 * @typedef {object} ErrorFrame
 * @property {"error"} type
 * @property {string} code
 * @property {string} message
 */

/**
 * A host changed the meeting's settings during the meeting: all of them, as they are now.
 * The server enforces them (chat and screen sharing refused to non-hosts when switched off).
 * @typedef {object} SettingsFrame
 * @property {"settings"} type
 * @property {RoomSettings} settings
 */

/**
 * A poll as everyone in the room may see it (no counts, no voters): the server's
 * `parley.signaling.frames.PollInfo`, field for field.
 * @typedef {object} PollInfo
 * @property {string} id
 * @property {string} question
 * @property {string[]} options
 * @property {boolean} multiple several options may be chosen (else exactly one)
 * @property {boolean} anonymous nobody, hosts included, ever learns who chose what
 * @property {boolean} live_results everyone sees the counts while it is open
 * @property {"open"|"closed"} status
 * @property {number} revision grows with every vote: keep the newest counts only
 */

/**
 * Votes per option and how many voted, never who (`parley.signaling.frames.PollCounts`).
 * @typedef {object} PollCounts
 * @property {string} poll_id
 * @property {number[]} results votes per option, in the order of `options`
 * @property {number} voters
 * @property {number} revision
 */

/**
 * A host or cohost launched a poll (to everyone in the room).
 * @typedef {{type: "poll-opened", poll: PollInfo}} PollOpenedFrame
 */

/**
 * The counts after a vote: to everyone when the poll has live results, else to hosts and
 * cohosts only. Frames may arrive out of order: ignore one whose `revision` is not newer.
 * @typedef {{type: "poll-results"} & PollCounts} PollResultsFrame
 */

/**
 * A breakout room, as frames name it (`id` is the room's own meeting id).
 * @typedef {object} BreakoutRoomInfo
 * @property {string} id
 * @property {string} name
 * @property {number} index
 * @property {string} meeting_id
 */

/**
 * The server moves this participant into a breakout room: `joined` is that room's join answer
 * (a single-use signaling ticket, for this connection only).
 * @typedef {{type: "breakout-move", room: BreakoutRoomInfo, joined: import("./rejoin.js").Joined,
 *   ends_at: string | null, allow_return: boolean}} BreakoutMoveFrame
 */

/**
 * Breakout rooms close at `closes_at` (`seconds` from when it was sent): everyone comes back.
 * @typedef {{type: "breakout-closing", closes_at: string, seconds: number}} BreakoutClosingFrame
 */

/**
 * A host's message to every breakout room.
 * @typedef {{type: "breakout-broadcast", text: string, from: string}} BreakoutBroadcastFrame
 */

/**
 * Someone in a breakout room asks for help (to hosts and cohosts only).
 * @typedef {{type: "breakout-help", room: {id: string, name: string}, from: string}} BreakoutHelpFrame
 */

/**
 * The poll was closed (to everyone), with its final counts.
 * @typedef {{type: "poll-closed"} & PollCounts} PollClosedFrame
 */

/**
 * @typedef {object} Welcome
 * @property {"welcome"} type
 * @property {{id: string, display_name: string, role: Peer["role"], held?: MediaKind[], avatar?: string}} self
 * @property {Peer[]} peers
 * @property {RoomInfo} room
 * @property {ChatMessage[]} chat_history
 * @property {RTCIceServer[]} ice_servers
 * @property {string} resume_token
 * @property {Peer[]} [lobby] hosts and cohosts only
 */

/**
 * The first frame on a new socket: the ticket (never in the URL, where access logs keep it),
 * or the resume token after a dropped connection.
 * @typedef {{type: "auth", token: string} | {type: "resume", resume_token: string}} OpeningFrame
 */

/**
 * Frames the client sends.
 * @typedef {{type: "offer"|"answer", to: string, sdp: RTCSessionDescriptionInit}
 *   | {type: "candidate", to: string, candidate: RTCIceCandidateInit | null}
 *   | {type: "renegotiate", to: string}
 *   | {type: "chat", text: string, to?: string}
 *   | {type: "reaction", emoji: string}
 *   | {type: "hand", raised: boolean}
 *   | {type: "media-state", audio: boolean, video: boolean, screen: boolean}
 *   | {type: "mute"|"remove"|"admit"|"deny"|"lower-hand", peer: string}
 *   | {type: "mute-all"|"lower-hands"|"admit-all"}
 *   | {type: "role", peer: string, role: "cohost"|"participant"}
 *   | {type: "lock", locked: boolean}
 *   | {type: "recording", active: boolean}
 *   | {type: "end"}
 *   | {type: "ping"}
 *   | {type: "sfu-publish", sdp: RTCSessionDescriptionInit, screen_mid: string | null}
 *   | {type: "sfu-join"}
 *   | {type: "sfu-subscribe-answer", sdp: RTCSessionDescriptionInit}
 *   | {type: "sfu-layer", peer: string, layer: SfuLayer}
 *   | {type: "stop-video", peer: string}
 *   | {type: "allow-unmute", peer: string, kinds?: MediaKind[]}} ClientFrame
 */

/** Reactions the server accepts. */
export const REACTIONS = ["👍", "👏", "😂", "😮", "❤️", "🎉", "🤔", "👎"];

/** Close codes after which coming back makes no sense. */
const FINAL_CODES = new Set([4401, 4403, 4409, 4410, 1008]);

/** How long the server keeps a dropped participant (seconds): resume only within it. */
const RESUME_WINDOW_MS = 30_000;

/** Client heartbeat: a frame every 5 s; no answer within 5 s more means the link is dead. */
const HEARTBEAT_MS = 5_000;

/**
 * Why the connection ended for good.
 * @typedef {object} Ended
 * @property {number} code the WebSocket close code
 * @property {"invalid-token"|"account-gone"|"removed"|"denied"|"replaced"|"meeting-ended"|"flooding"|"lost"|"left"} reason
 */

/**
 * One participant's signaling connection.
 *
 * Events: one per server frame type (`welcome`, `peer-joined`, `offer`, `chat`, …) as a
 * CustomEvent whose `detail` is the frame; plus `reconnecting`, `reconnected` and `ended`
 * (detail: {@link Ended}).
 */
export class SignalingConnection extends EventTarget {
  /**
   * @param {string} path the `signaling.url` from the join response, e.g. `/ws/signaling`
   * @param {string} token the signaling ticket from the join response: it enters once (a
   *   resume uses the resume token from the welcome; a new entry needs a new join)
   */
  constructor(path, token) {
    super();
    const url = new URL(path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    /** @type {string} */
    this.url = url.href;
    /** @type {string} */
    this.token = token;
    /** @type {string | null} */
    this.resumeToken = null;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {ClientFrame[]} frames waiting for the connection to come back */
    this.backlog = [];
    /** @type {number | null} when the link was lost (ms since epoch) */
    this.lostAt = null;
    this.closedByUs = false;
    this.lastHeard = Date.now();
    /** @type {number | undefined} */
    this.heartbeat = undefined;
    /** @type {string | null} "removed" / "denied" / "meeting-ended", told before the close */
    this.farewell = null;
  }

  /** Open the connection (first entry). */
  open() {
    this.closedByUs = false;
    this.connect(false);
  }

  /** @param {boolean} resuming */
  connect(resuming) {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.lastHeard = Date.now();
      /** @type {OpeningFrame} */
      const opening = resuming && this.resumeToken ? { type: "resume", resume_token: this.resumeToken } : { type: "auth", token: this.token };
      socket.send(JSON.stringify(opening));
      clearInterval(this.heartbeat);
      this.heartbeat = window.setInterval(() => this.beat(), HEARTBEAT_MS);
    });
    socket.addEventListener("message", (event) => {
      this.lastHeard = Date.now();
      /** @type {any} */
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== "string") return;
      if (frame.type === "welcome") {
        this.resumeToken = frame.resume_token;
        if (this.lostAt !== null) {
          this.lostAt = null;
          this.flush();
          this.emit("reconnected", frame);
        } else {
          this.flush();
        }
      }
      if (frame.type === "removed" || frame.type === "denied" || frame.type === "meeting-ended") this.farewell = frame.type;
      this.emit(frame.type, frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      clearInterval(this.heartbeat);
      this.onClose(event.code, event.reason);
    });
  }

  /**
   * @param {number} code
   * @param {string} [why] the close reason the server gave
   */
  onClose(code, why = "") {
    if (this.closedByUs) {
      this.emit("ended", { code, reason: "left" });
      return;
    }
    if (this.farewell || FINAL_CODES.has(code) || (code === 1000 && this.farewell)) {
      /** @type {Ended["reason"]} */
      let reason = "lost";
      if (this.farewell === "meeting-ended" || code === 4410) reason = "meeting-ended";
      else if (this.farewell === "removed" || (code === 4403 && this.farewell !== "denied")) reason = "removed";
      else if (this.farewell === "denied") reason = "denied";
      else if (code === 4401 && why.startsWith("account ")) reason = "account-gone";
      else if (code === 4401) reason = this.lostAt !== null ? "lost" : "invalid-token";
      else if (code === 4409) reason = "replaced";
      else if (code === 1008) reason = "flooding";
      this.emit("ended", { code, reason });
      return;
    }
    if (!this.resumeToken) {
      this.emit("ended", { code, reason: "lost" });
      return;
    }
    if (this.lostAt === null) {
      this.lostAt = Date.now();
      this.emit("reconnecting", { code });
    }
    const elapsed = Date.now() - this.lostAt;
    if (elapsed > RESUME_WINDOW_MS - 1000) {
      this.emit("ended", { code, reason: "lost" });
      return;
    }
    const attempt = Math.min(Math.round(elapsed / 1000), 4);
    setTimeout(() => {
      if (!this.closedByUs) this.connect(true);
    }, 250 * 2 ** attempt);
  }

  /** Keep-alive: notices a dead link long before TCP does. */
  beat() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastHeard > 2 * HEARTBEAT_MS) {
      // No frame (not even a pong) for two beats: treat the link as lost and resume.
      this.socket = null;
      clearInterval(this.heartbeat);
      socket.close();
      this.onClose(1006);
      return;
    }
    socket.send(JSON.stringify({ type: "ping" }));
  }

  flush() {
    const waiting = this.backlog.splice(0);
    for (const frame of waiting) this.send(frame);
  }

  /**
   * Send a frame; while the link is down it waits (bounded) to go out after the resume.
   * @param {ClientFrame} frame
   */
  send(frame) {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN && this.lostAt === null) {
      socket.send(JSON.stringify(frame));
    } else if (this.backlog.length < 200) {
      this.backlog.push(frame);
    }
  }

  /** Leave for good (close code 1000: the server lets the others know at once). */
  close() {
    this.closedByUs = true;
    clearInterval(this.heartbeat);
    this.socket?.close(1000, "left");
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Listen to one frame type.
   * @param {string} type
   * @param {(frame: any) => void} handler
   */
  on(type, handler) {
    this.addEventListener(type, (event) => handler(/** @type {CustomEvent} */ (event).detail));
  }
}
