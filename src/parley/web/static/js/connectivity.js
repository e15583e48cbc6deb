// @ts-check
/**
 * The connection check: which ways this browser can get media out, with the ICE servers the
 * server hands out (STUN, and TURN with REST credentials). UI-free.
 *
 * What it does: one RTCPeerConnection gathers ICE candidates with those servers for a few
 * seconds and sorts what came back. A server-reflexive candidate means a STUN server answered
 * over UDP (Chromium asks each TURN server for one too), so UDP leaves this network and a media
 * server with a public address on open UDP ports is reachable directly; with no NAT the browser
 * drops that candidate (it equals a host one), and a UDP relay whose mapped address is the
 * browser's own counts instead. A relay candidate means a TURN server allocated a relay, over
 * the protocol in its `relayProtocol` (Chromium leaves it empty for UDP: the candidate's URL
 * says). A TURN server that refused to allocate (an ICE error with a STUN error code, e.g. 401
 * for the placeholder credentials a guest checks with) was reached all the same.
 *
 * That gathering alone says nothing of the media server's own ports, so the check then talks to
 * the media server itself ({@link probeMediaServer}): a second RTCPeerConnection with the same
 * ICE servers offers one send-only audio section (no track, no device), the server answers it
 * from a probe room of its Janus (`POST /api/v1/media/connection-check`), and the pair of
 * candidates ICE selects says how the browser got there: a host, server-reflexive or
 * peer-reflexive local candidate is a direct path (UDP: Janus takes no TCP candidates), a relay
 * one goes through TURN over the protocol it names. Only when that fails is it tried once more
 * with `iceTransportPolicy: "relay"`, to tell "only through the relay" from "no route". Where
 * the server has no media server (`503 sfu-unavailable`) the gathering is all there is.
 * @module connectivity
 */

/** @typedef {"udp" | "tcp" | "tls"} RelayProtocol */

/**
 * The verdict, best first: `direct` (UDP out, STUN answered), `relay-udp`, `relay-tcp` (TURN
 * over TCP or TLS only), `none` (no server answered), `untested` (no STUN or TURN server to try).
 * @typedef {"direct" | "relay-udp" | "relay-tcp" | "none" | "untested"} Verdict
 */

/**
 * What a gathering saw.
 * @typedef {object} Observations
 * @property {number} stunServers STUN URLs tried
 * @property {RelayProtocol[]} turnServers the transport of each TURN URL tried
 * @property {number} host host candidates (this machine's own addresses)
 * @property {number} srflx server-reflexive candidates: a STUN server answered over UDP (Chromium also
 *   asks each TURN server for one). Counted too: a UDP relay whose mapped address is one of this
 *   machine's own (no NAT: the browser drops a reflexive candidate equal to a host one)
 * @property {RelayProtocol[]} relays the relay protocol of each relay candidate (a TURN allocation)
 * @property {RelayProtocol[]} refused TURN transports whose server answered but allocated nothing
 *   (STUN error 300-699, e.g. 401: wrong or no credentials)
 * @property {boolean} timedOut gathering had not finished within the time budget
 */

/**
 * @typedef {object} CheckResult
 * @property {Verdict} verdict the best way out
 * @property {RelayProtocol | null} via the relay protocol the verdict rests on (relay verdicts)
 * @property {RelayProtocol[]} relay every protocol the relay answered over, best first (the
 *   fallbacks, whatever the verdict)
 * @property {Observations} seen
 */

/** How long a check may take, at most (ms): unreachable servers make gathering wait this long. */
export const TIME_BUDGET_MS = 5000;

/**
 * The transport a STUN/TURN URL names: `turns:` is TLS; `?transport=tcp` is TCP; else UDP.
 * @param {string} url
 * @returns {RelayProtocol}
 */
export function transportOf(url) {
  const lower = url.trim().toLowerCase();
  if (lower.startsWith("turns:")) return "tls";
  return /[?&]transport=tcp\b/.test(lower) ? "tcp" : "udp";
}

/**
 * The STUN and TURN URLs of a list of ICE servers.
 * @param {RTCIceServer[]} servers
 * @returns {{stun: string[], turn: string[]}}
 */
export function serverUrls(servers) {
  /** @type {string[]} */
  const stun = [];
  /** @type {string[]} */
  const turn = [];
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      if (typeof url !== "string") continue;
      const lower = url.trim().toLowerCase();
      if (lower.startsWith("stun:") || lower.startsWith("stuns:")) stun.push(url);
      else if (lower.startsWith("turn:") || lower.startsWith("turns:")) turn.push(url);
    }
  }
  return { stun, turn };
}

/**
 * The verdict for what a gathering saw. Pure: the page and the tests call it directly.
 * @param {Observations} seen
 * @returns {CheckResult}
 */
export function classify(seen) {
  /** @type {RelayProtocol[]} */
  const order = ["udp", "tls", "tcp"];
  const relay = order.filter((protocol) => seen.relays.includes(protocol) || seen.refused.includes(protocol));
  if (seen.stunServers === 0 && seen.turnServers.length === 0 && seen.srflx === 0 && seen.relays.length === 0) {
    return { verdict: "untested", via: null, relay, seen };
  }
  if (seen.srflx > 0) return { verdict: "direct", via: null, relay, seen };
  const via = relay[0];
  if (via === "udp") return { verdict: "relay-udp", via, relay, seen };
  if (via) return { verdict: "relay-tcp", via, relay, seen };
  return { verdict: "none", via: null, relay, seen };
}

/** @param {RelayProtocol} protocol */
const protocolName = (protocol) => protocol.toUpperCase();

/**
 * Plain words for a result: a headline and what was checked.
 * @param {CheckResult} result
 * @returns {{headline: string, detail: string}}
 */
export function describe(result) {
  const { seen } = result;
  const tried = [];
  if (seen.stunServers) tried.push(seen.stunServers === 1 ? "1 STUN server" : `${seen.stunServers} STUN servers`);
  if (seen.turnServers.length) {
    const kinds = [...new Set(seen.turnServers)].map((p) => p.toUpperCase()).join(", ");
    tried.push(`${seen.turnServers.length === 1 ? "1 relay (TURN) address" : `${seen.turnServers.length} relay (TURN) addresses`} over ${kinds}`);
  }
  const checked = tried.length ? `Checked: ${tried.join(" and ")}.` : "";
  switch (result.verdict) {
    case "direct": {
      const fallback = result.relay.length
        ? ` Should direct traffic be blocked, the relay answered too, over ${result.relay.map(protocolName).join(" and ")}.`
        : "";
      return {
        headline: "Your network lets UDP out: the media server should be reachable directly.",
        detail: `${checked} UDP traffic leaves your network, so calls go straight to the media server, as long as its media ports are open to you.${fallback}`,
      };
    }
    case "relay-udp":
      return {
        headline: "Only through the relay over UDP (TURN): calls will work, with a little more delay.",
        detail: `${checked} Direct UDP did not get through, but the relay answered over UDP.`,
      };
    case "relay-tcp":
      return {
        headline: `Only through the relay over ${result.via === "tls" ? "TLS" : "TCP"}: calls will work; video may be lower quality.`,
        detail: `${checked} UDP is blocked here; the relay answered over ${result.relay.map(protocolName).join(" and ")}.`,
      };
    case "none":
      return {
        headline: "No route to the media server: calls with three or more people will fail here.",
        detail: `${checked} None of them answered. A call with one other person may still work directly between your two browsers. Ask your network administrator to allow UDP to this server's media ports, or TURN over TLS on port 443.`,
      };
    default:
      return {
        headline: "Nothing to check against: this server lists no STUN or relay (TURN) servers.",
        detail: "Calls work only where your browser can reach the media server's address directly, for example on the same network.",
      };
  }
}

/**
 * Gather ICE candidates with `servers` for at most `budgetMs` and classify them.
 * @param {RTCIceServer[]} servers what `RTCPeerConnection({iceServers})` gets for a call
 * @param {{budgetMs?: number}} [options]
 * @returns {Promise<CheckResult>}
 */
export async function checkConnectivity(servers, options = {}) {
  const budgetMs = options.budgetMs ?? TIME_BUDGET_MS;
  const { stun, turn } = serverUrls(servers);
  /** @type {Observations} */
  const seen = {
    stunServers: stun.length,
    turnServers: turn.map(transportOf),
    host: 0,
    srflx: 0,
    relays: [],
    refused: [],
    timedOut: false,
  };
  if (stun.length === 0 && turn.length === 0) return classify(seen);

  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: "all" });
  // Done early once UDP got out and every relay transport has answered: the best there is.
  // Otherwise (something blocked, or a server down) the budget runs out.
  const transports = new Set(seen.turnServers);
  /** @type {Set<string>} this machine's own addresses (shown once the camera is allowed) */
  const hosts = new Set();
  /** @type {Set<string>} the addresses TURN servers saw this browser come from (UDP relays) */
  const mapped = new Set();
  const reflexive = () => {
    if (seen.srflx === 0 && [...mapped].some((address) => hosts.has(address))) seen.srflx = 1;
  };
  const complete = () =>
    seen.srflx > 0 && [...transports].every((p) => seen.relays.includes(p) || seen.refused.includes(p));
  try {
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        seen.timedOut = true;
        resolve(undefined);
      }, budgetMs);
      const settle = () => {
        if (!complete()) return;
        clearTimeout(timer);
        resolve(undefined);
      };
      pc.addEventListener("icecandidate", (event) => {
        const candidate = /** @type {(RTCIceCandidate & {relayProtocol?: string | null, url?: string | null}) | null} */ (event.candidate);
        if (!candidate) {
          clearTimeout(timer);
          resolve(undefined);
          return;
        }
        if (!candidate.candidate) return; // the end-of-candidates marker of one generation
        if (candidate.type === "host") {
          seen.host += 1;
          if (candidate.address) hosts.add(candidate.address);
        } else if (candidate.type === "srflx") seen.srflx += 1;
        else if (candidate.type === "relay") {
          const named = candidate.relayProtocol || candidate.url || /** @type {any} */ (event).url;
          /** @type {RelayProtocol} */
          const protocol = named === "tcp" || named === "tls" || named === "udp" ? named : transportOf(String(named || ""));
          seen.relays.push(protocol);
          if (protocol === "udp" && candidate.relatedAddress) mapped.add(candidate.relatedAddress);
        }
        reflexive();
        settle();
      });
      pc.addEventListener("icecandidateerror", (event) => {
        const failure = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
        // 300-699: a STUN error response, so the server was reached; 701: it was not.
        if (failure.errorCode >= 300 && failure.errorCode < 700 && /^turns?:/i.test(failure.url || "")) {
          seen.refused.push(transportOf(failure.url));
          settle();
        }
      });
      // One data channel is all an offer needs to gather (no camera, no permission prompt).
      pc.createDataChannel("connection-check");
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .catch(() => {
          clearTimeout(timer);
          resolve(undefined);
        });
    });
  } finally {
    pc.close();
  }
  return classify(seen);
}

// ---- the media server itself ------------------------------------------------------------------

/** How long ICE gathering may take before the offer goes out (candidates travel in the SDP). */
export const GATHER_MS = 3000;
/** How long ICE may take to connect to the media server, per try. */
export const CONNECT_MS = 5000;
/** The placeholder TURN username of `/ice-servers/check`: no relay allocates with it. */
export const PLACEHOLDER_USERNAME = "connection-check";

/**
 * The server's side of a probe, injected so that this module stays free of the page and the
 * HTTP client: `open` posts the offer to `/api/v1/media/connection-check` and resolves to the
 * probe's id and the media server's answer; `close` deletes the probe. A failure of `open`
 * carrying `type: "sfu-unavailable"` means the server has no media server to check against.
 * @typedef {object} ProbeApi
 * @property {(offer: {type: "offer", sdp: string}) => Promise<{id: string, answer: RTCSessionDescriptionInit}>} open
 * @property {(id: string) => Promise<unknown>} close
 */

/**
 * What the media server check found.
 * @typedef {object} MediaCheck
 * @property {"reached" | "unreachable" | "unavailable" | "error"} status `unavailable`: the
 *   server has no media server to check; `error`: the check could not run (see `why`)
 * @property {"direct" | "relay" | null} path how it was reached
 * @property {RelayProtocol | null} protocol the transport from this browser: `udp` for direct,
 *   the relay's protocol through TURN
 * @property {string | null} candidate the local candidate type of the selected pair
 *   (host, srflx, prflx, relay)
 * @property {boolean} relayTried whether the relay-only second try ran
 * @property {boolean} relayUsable whether there were TURN servers with real credentials to try
 * @property {string} why for `unavailable` and `error`: the server's or browser's words
 */

/**
 * Whether `servers` hold a TURN server a relay-only try can use (real credentials, not the
 * placeholder a guest checks with).
 * @param {RTCIceServer[]} servers
 */
export function hasUsableTurn(servers) {
  return servers.some((server) => {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    return urls.some((url) => /^turns?:/i.test(String(url))) && Boolean(server.username) && server.username !== PLACEHOLDER_USERNAME;
  });
}

/**
 * @param {RTCPeerConnection} pc
 * @param {number} ms
 */
function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve(undefined);
    const timer = setTimeout(() => resolve(undefined), ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState !== "complete") return;
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Resolves `true` once ICE connected, `false` when it failed or `ms` passed.
 * @param {RTCPeerConnection} pc
 * @param {number} ms
 * @returns {Promise<boolean>}
 */
function connected(pc, ms) {
  return new Promise((resolve) => {
    const state = () => pc.iceConnectionState;
    if (state() === "connected" || state() === "completed") return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    pc.addEventListener("iceconnectionstatechange", () => {
      if (state() === "connected" || state() === "completed") {
        clearTimeout(timer);
        resolve(true);
      } else if (state() === "failed" || state() === "closed") {
        clearTimeout(timer);
        resolve(false);
      }
    });
  });
}

/**
 * The local candidate of the pair ICE selected (from `getStats`).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<{type: string, protocol: string, relayProtocol: string, url: string} | null>}
 */
export async function selectedLocalCandidate(pc) {
  const stats = await pc.getStats();
  /** @type {Map<string, any>} */
  const byId = new Map();
  stats.forEach((report) => byId.set(report.id, report));
  /** @type {any} */
  let pair = null;
  for (const report of byId.values()) {
    if (report.type === "transport" && report.selectedCandidatePairId) pair = byId.get(report.selectedCandidatePairId);
  }
  if (!pair) {
    for (const report of byId.values()) {
      if (report.type === "candidate-pair" && report.state === "succeeded" && (report.nominated || !pair)) pair = report;
    }
  }
  const local = pair ? byId.get(pair.localCandidateId) : null;
  if (!local) return null;
  return {
    type: String(local.candidateType || ""),
    protocol: String(local.protocol || ""),
    relayProtocol: String(local.relayProtocol || ""),
    url: String(local.url || ""),
  };
}

/**
 * One try: offer, the media server's answer, ICE within `connectMs`, the selected pair.
 * @param {RTCIceServer[]} servers
 * @param {ProbeApi} api
 * @param {RTCIceTransportPolicy} policy
 * @param {{gatherMs: number, connectMs: number}} times
 * @returns {Promise<{reached: boolean, candidate: string | null, protocol: RelayProtocol | null}>}
 */
async function probeOnce(servers, api, policy, times) {
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: policy });
  /** @type {string | null} */
  let probe = null;
  try {
    // One send-only audio section and no track: nothing to capture, nothing to ask for.
    pc.addTransceiver("audio", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, times.gatherMs);
    const offer = pc.localDescription;
    if (!offer) throw new Error("The browser made no offer.");
    const opened = await api.open({ type: "offer", sdp: offer.sdp });
    probe = opened.id;
    await pc.setRemoteDescription(opened.answer);
    if (!(await connected(pc, times.connectMs))) return { reached: false, candidate: null, protocol: null };
    const local = await selectedLocalCandidate(pc);
    const candidate = local?.type || null;
    if (candidate === "relay") {
      const named = local?.relayProtocol || local?.url || "";
      /** @type {RelayProtocol} */
      const protocol = named === "tcp" || named === "tls" || named === "udp" ? named : transportOf(named);
      return { reached: true, candidate, protocol };
    }
    return { reached: true, candidate, protocol: local?.protocol === "tcp" ? "tcp" : "udp" };
  } finally {
    pc.close();
    if (probe) api.close(probe).catch(() => {});
  }
}

/**
 * Connect to the media server the way a call does, and say how it was reached.
 * @param {RTCIceServer[]} servers the same servers as for a call (or for the check)
 * @param {ProbeApi} api
 * @param {{gatherMs?: number, connectMs?: number}} [options]
 * @returns {Promise<MediaCheck>}
 */
export async function probeMediaServer(servers, api, options = {}) {
  const times = { gatherMs: options.gatherMs ?? GATHER_MS, connectMs: options.connectMs ?? CONNECT_MS };
  const relayUsable = hasUsableTurn(servers);
  /** @type {MediaCheck} */
  const result = { status: "unreachable", path: null, protocol: null, candidate: null, relayTried: false, relayUsable, why: "" };
  try {
    let found = await probeOnce(servers, api, "all", times);
    if (!found.reached && relayUsable) {
      result.relayTried = true;
      found = await probeOnce(servers, api, "relay", times);
    }
    if (found.reached) {
      result.status = "reached";
      result.candidate = found.candidate;
      result.path = found.candidate === "relay" ? "relay" : "direct";
      result.protocol = found.protocol;
    }
  } catch (failure) {
    const type = /** @type {{type?: unknown}} */ (failure)?.type;
    result.status = type === "sfu-unavailable" ? "unavailable" : "error";
    result.why = failure instanceof Error ? failure.message : String(failure);
  }
  return result;
}

/**
 * The verdict of the whole check: what the media server check found, else (no media server
 * here, or that check could not run) what the gathering found.
 * @param {CheckResult} gathering
 * @param {MediaCheck} media
 * @returns {Verdict}
 */
export function overallVerdict(gathering, media) {
  if (media.status === "reached") {
    if (media.path === "direct") return "direct";
    return media.protocol === "udp" ? "relay-udp" : "relay-tcp";
  }
  if (media.status === "unreachable") return "none";
  return gathering.verdict;
}

/**
 * Plain words for the whole check: a headline and a detail about the media server, and the
 * STUN/TURN findings as a line of their own.
 * @param {CheckResult} gathering
 * @param {MediaCheck} media
 * @returns {{headline: string, detail: string, servers: string}}
 */
export function describeCheck(gathering, media) {
  const words = describe(gathering);
  const servers = `STUN/TURN: ${words.headline} ${words.detail}`.trim();
  switch (media.status) {
    case "reached":
      if (media.path === "direct") {
        return {
          headline: "Your browser reached the media server directly (UDP).",
          detail: "Calls with three or more people go straight to the media server from here.",
          servers,
        };
      }
      if (media.protocol === "udp") {
        return {
          headline: "Your browser reached the media server only through the relay over UDP (TURN): calls will work, with a little more delay.",
          detail: "Direct UDP to the media server's ports did not get through from here.",
          servers,
        };
      }
      return {
        headline: `Your browser reached the media server only through the relay over ${media.protocol === "tls" ? "TLS" : "TCP"}: calls will work; video may be lower quality.`,
        detail: "UDP to the media server does not get through from here.",
        servers,
      };
    case "unreachable": {
      const relay = media.relayTried
        ? " Not through the relay (TURN) either."
        : media.relayUsable
          ? ""
          : " The relay (TURN) could not be tried: it needs the credentials you get once you have joined, or this server has none.";
      return {
        headline: "No route to the media server: calls with three or more people will fail here.",
        detail: `Your browser could not connect to the media server's ports within ${Math.round(CONNECT_MS / 1000)} seconds.${relay} A call with one other person may still work directly between your two browsers. Ask your network administrator to allow UDP to this server's media ports, or TURN over TLS on port 443.`,
        servers,
      };
    }
    case "unavailable":
      return {
        headline: words.headline,
        detail: `The media server itself cannot be checked here: this server has none (calls go directly between browsers). ${words.detail}`.trim(),
        servers: "",
      };
    default:
      return {
        headline: words.headline,
        detail: `The media server itself could not be checked: ${media.why} ${words.detail}`.trim(),
        servers: "",
      };
  }
}
