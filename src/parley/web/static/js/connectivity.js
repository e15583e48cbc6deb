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
 * What it does not do: talk to the media server (Janus) itself. A network that lets UDP out to
 * the STUN server but not to the media server's RTP ports would still read as "direct".
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
        headline: "Your browser can reach the media server directly (UDP).",
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
