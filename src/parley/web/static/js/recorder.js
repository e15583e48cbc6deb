// @ts-check
/**
 * Recording in the browser: the room's videos drawn onto one canvas, everyone's audio mixed,
 * encoded by MediaRecorder as WebM and streamed to media-service while it records (a chunk
 * every 2 s), so a crash loses at most the last seconds.
 * @module recorder
 */
import { StreamingUpload } from "./tus.js";

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 15;
const CHUNK_MS = 2000;

/** @returns {string} the best WebM flavour this browser records */
function mimeType() {
  for (const type of ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"]) {
    if (MediaRecorder.isTypeSupported(type)) return type;
  }
  return "video/webm";
}

/**
 * @typedef {object} Source
 * @property {() => HTMLVideoElement[]} videos what to draw (the stage first when presenting)
 * @property {() => MediaStream[]} audio whose sound to mix (local and remote)
 */

export class MeetingRecorder {
  /**
   * @param {Source} source
   * @param {StreamingUpload} upload
   */
  constructor(source, upload) {
    this.source = source;
    this.upload = upload;
    this.canvas = document.createElement("canvas");
    this.canvas.width = WIDTH;
    this.canvas.height = HEIGHT;
    this.context2d = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d"));
    this.audio = new AudioContext();
    this.mix = this.audio.createMediaStreamDestination();
    /** @type {Set<string>} tracks already mixed */
    this.mixed = new Set();
    /** @type {number | undefined} */
    this.timer = undefined;
    this.startedAt = 0;
    this.bytes = 0;
    /** @type {MediaRecorder | null} */
    this.recorder = null;
  }

  /** Start drawing, mixing, encoding and uploading. */
  async start() {
    await this.upload.start();
    this.draw();
    this.timer = window.setInterval(() => this.draw(), 1000 / FPS);
    const stream = new MediaStream([
      ...this.canvas.captureStream(FPS).getVideoTracks(),
      ...this.mix.stream.getAudioTracks(),
    ]);
    const recorder = new MediaRecorder(stream, { mimeType: mimeType(), videoBitsPerSecond: 1_500_000 });
    this.recorder = recorder;
    /** @type {Blob | null} held back one step so that the last chunk can carry the length */
    let pending = null;
    /** @type {(value: void) => void} */
    let finished = () => {};
    this.done = new Promise((resolve) => {
      finished = resolve;
    });
    recorder.addEventListener("dataavailable", (event) => {
      if (pending) void this.upload.push(pending).catch(() => {});
      pending = event.data;
      this.bytes += event.data.size;
    });
    recorder.addEventListener("stop", () => {
      const last = pending || new Blob([]);
      pending = null;
      this.upload.push(last, true).then(finished, finished);
    });
    recorder.start(CHUNK_MS);
    this.startedAt = performance.now();
  }

  /** Draw the current videos in a grid, and add newly seen audio to the mix. */
  draw() {
    const g = this.context2d;
    g.fillStyle = "#0f172a";
    g.fillRect(0, 0, WIDTH, HEIGHT);
    const videos = this.source.videos().filter((v) => v.videoWidth > 0);
    const columns = Math.max(1, Math.ceil(Math.sqrt(videos.length)));
    const rows = Math.max(1, Math.ceil(videos.length / columns));
    const w = WIDTH / columns;
    const h = HEIGHT / rows;
    videos.forEach((video, i) => {
      const scale = Math.min(w / video.videoWidth, h / video.videoHeight);
      const dw = video.videoWidth * scale;
      const dh = video.videoHeight * scale;
      g.drawImage(video, (i % columns) * w + (w - dw) / 2, Math.floor(i / columns) * h + (h - dh) / 2, dw, dh);
    });
    for (const stream of this.source.audio()) {
      for (const track of stream.getAudioTracks()) {
        if (this.mixed.has(track.id)) continue;
        this.mixed.add(track.id);
        this.audio.createMediaStreamSource(new MediaStream([track])).connect(this.mix);
      }
    }
  }

  /**
   * Stop recording; resolves when the last chunk is stored.
   * @returns {Promise<{durationS: number, sizeBytes: number}>}
   */
  async stop() {
    clearInterval(this.timer);
    const durationS = (performance.now() - this.startedAt) / 1000;
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    await this.done;
    await this.upload.queue.catch(() => {});
    void this.audio.close();
    if (this.upload.failure) throw this.upload.failure;
    return { durationS, sizeBytes: this.upload.offset };
  }
}
