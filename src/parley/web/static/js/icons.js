// @ts-check
/**
 * The client's status and control icons, as inline SVG drawn here: nothing depends on an
 * emoji or symbol font being installed (on a machine without one, every status icon used to
 * show as an empty box). Each icon is a 24×24 line drawing in `currentColor`, so it takes the
 * colour and contrast of the text around it.
 *
 * An icon is decorative (`aria-hidden`) unless given a label: then it is `role="img"` with that
 * name, for the screen readers that meet it without words beside it.
 * @module icons
 */

const SVG = "http://www.w3.org/2000/svg";

const MIC = /** @type {const} */ ([
  ["rect", { x: "9", y: "3", width: "6", height: "11", rx: "3" }],
  ["path", { d: "M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8" }],
]);
const CAMERA = /** @type {const} */ ([
  ["rect", { x: "3", y: "6", width: "12", height: "12", rx: "2" }],
  ["path", { d: "M15 10l6-3v10l-6-3z" }],
]);
/** The stroke that turns an icon into its "off" form. */
const SLASH = /** @type {const} */ (["path", { d: "M3 3l18 18" }]);

/** Each icon's shapes: `[element, attributes]` pairs inside a 24×24 box. */
const SHAPES = /** @type {const} */ ({
  mic: MIC,
  "mic-off": [...MIC, SLASH],
  camera: CAMERA,
  "camera-off": [...CAMERA, SLASH],
  screen: [
    ["rect", { x: "3", y: "4", width: "18", height: "12", rx: "2" }],
    ["path", { d: "M8 20h8M12 16v4M12 13V7M9 10l3-3 3 3" }],
  ],
  hand: [
    ["path", { d: "M8 12V5.5a1.5 1.5 0 0 1 3 0V11M11 10V4.5a1.5 1.5 0 0 1 3 0V11M14 10V5.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7 6 6 0 0 1-5-3l-2.5-4.5a1.5 1.5 0 0 1 2.5-1.5L8 14" }],
  ],
  lock: [
    ["rect", { x: "5", y: "11", width: "14", height: "10", rx: "2" }],
    ["path", { d: "M8 11V8a4 4 0 0 1 8 0v3" }],
  ],
  record: [["circle", { cx: "12", cy: "12", r: "6", fill: "currentColor" }]],
  reconnecting: [["path", { d: "M20 12a8 8 0 1 1-2.3-5.7M20 4v4h-4" }]],
  people: [
    ["circle", { cx: "9", cy: "8", r: "3.5" }],
    ["path", { d: "M2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6.5 6.5 0 0 1 3.5 6" }],
  ],
  chat: [["path", { d: "M4 5h16v11H9l-5 4z" }]],
  smile: [
    ["circle", { cx: "12", cy: "12", r: "9" }],
    ["path", { d: "M8 14a4.5 4.5 0 0 0 8 0M9 9.5h.01M15 9.5h.01" }],
  ],
  more: [
    ["circle", { cx: "5", cy: "12", r: "1.6", fill: "currentColor" }],
    ["circle", { cx: "12", cy: "12", r: "1.6", fill: "currentColor" }],
    ["circle", { cx: "19", cy: "12", r: "1.6", fill: "currentColor" }],
  ],
  leave: [["path", { d: "M10 4H5v16h5M14 8l4 4-4 4M18 12H9" }]],
});

/** @typedef {keyof typeof SHAPES} IconName */

/**
 * An icon, decorative unless `label` names it.
 * @param {IconName} name
 * @param {string} [label]
 * @returns {SVGSVGElement}
 */
export function icon(name, label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("focusable", "false");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  for (const [tag, attrs] of SHAPES[name]) {
    const shape = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) shape.setAttribute(key, value);
    svg.append(shape);
  }
  return svg;
}

/** Connection quality levels, as the media plane reports them. */
const BARS = { good: 3, fair: 2, poor: 1, unknown: 0 };

/**
 * Signal bars for a connection quality (three bars, as many filled as the quality is good),
 * named in words for screen readers ("Connection: good, 40 ms").
 * @param {"good" | "fair" | "poor" | "unknown"} level
 * @param {string} words
 * @returns {SVGSVGElement}
 */
export function signalBars(level, words) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon icon-signal");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", words);
  svg.setAttribute("focusable", "false");
  const lit = BARS[level] ?? 0;
  [[4, 15, 4], [10, 10, 9], [16, 5, 14]].forEach(([x, y, height], index) => {
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("x", String(x));
    bar.setAttribute("y", String(y));
    bar.setAttribute("width", "4");
    bar.setAttribute("height", String(height));
    bar.setAttribute("rx", "1");
    bar.setAttribute("fill", "currentColor");
    bar.setAttribute("opacity", index < lit ? "1" : "0.3");
    svg.append(bar);
  });
  return svg;
}

/** What each reaction is called: its name when no font can draw it, and for screen readers. */
export const REACTION_NAMES = /** @type {Record<string, string>} */ ({
  "👍": "Thumbs up",
  "👏": "Applause",
  "😂": "Laughing",
  "😮": "Surprised",
  "❤️": "Heart",
  "🎉": "Celebrate",
  "🤔": "Thinking",
  "👎": "Thumbs down",
});

/** @type {boolean | null} */
let emojiDrawn = null;

/**
 * Whether this browser has a font that draws emoji: a thumbs-up is drawn on a canvas and
 * compared with a character no font has (the empty box). Asked once.
 * @returns {boolean}
 */
export function canDrawEmoji() {
  if (emojiDrawn !== null) return emojiDrawn;
  try {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 24;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) return (emojiDrawn = true);
    const pixels = (/** @type {string} */ text) => {
      context.clearRect(0, 0, 24, 24);
      context.font = "20px sans-serif";
      context.textBaseline = "top";
      context.fillText(text, 0, 0);
      return context.getImageData(0, 0, 24, 24).data.join(",");
    };
    emojiDrawn = pixels("👍") !== pixels("\u{10FFFD}");
  } catch {
    emojiDrawn = true; // cannot tell: assume it can
  }
  return emojiDrawn;
}

/**
 * A reaction as shown: the emoji where a font draws it, else its name in words.
 * @param {string} emoji
 * @returns {string}
 */
export function reactionFace(emoji) {
  return canDrawEmoji() ? emoji : REACTION_NAMES[emoji] || emoji;
}
