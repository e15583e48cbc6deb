// @ts-check
/**
 * Local media: camera and microphone (with device choice), screen capture, audio levels.
 * @module media
 */

/**
 * Words a person understands for getUserMedia/getDisplayMedia failures.
 * @param {unknown} error
 * @returns {string}
 */
export function mediaErrorText(error) {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError")
    return "Camera and microphone are blocked. Allow them in your browser's address bar, then try again.";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "No camera or microphone was found.";
  if (name === "NotReadableError") return "The camera or microphone is in use by another application.";
  return error instanceof Error ? error.message : "The camera or microphone could not be started.";
}

/**
 * The camera's capture size. In the mesh every peer gets an encoding of its own, so it stays
 * small; through the SFU the camera is encoded once, as three simulcast layers (full, half and
 * quarter size), which Chromium only all sends from a source of 960x540 or more.
 * @typedef {{width: number, height: number}} CameraSize
 */

/** @type {CameraSize} */
export const MESH_CAMERA = { width: 640, height: 360 };
/** @type {CameraSize} */
export const SFU_CAMERA = { width: 1280, height: 720 };

/**
 * @typedef {object} DeviceChoice
 * @property {string} [audioDeviceId]
 * @property {string} [videoDeviceId]
 */

/** The camera and microphone of this participant, as one MediaStream. */
export class LocalMedia extends EventTarget {
  constructor() {
    super();
    /** @type {MediaStream} */
    this.stream = new MediaStream();
    /** @type {MediaStreamTrack | null} */
    this.screen = null;
    /** @type {string | null} why camera/microphone are not available */
    this.problem = null;
    /** @type {CameraSize} what the camera is asked for */
    this.cameraSize = MESH_CAMERA;
  }

  /** @returns {MediaStreamTrack | null} */
  get audioTrack() {
    return this.stream.getAudioTracks()[0] || null;
  }

  /** @returns {MediaStreamTrack | null} */
  get videoTrack() {
    return this.stream.getVideoTracks()[0] || null;
  }

  /**
   * Start (or switch) camera and microphone. Falls back to whichever of the two works.
   * @param {DeviceChoice} [choice]
   */
  async start(choice = {}) {
    const audio = choice.audioDeviceId ? { deviceId: { exact: choice.audioDeviceId } } : true;
    const size = { width: { ideal: this.cameraSize.width }, height: { ideal: this.cameraSize.height } };
    const video = choice.videoDeviceId ? { deviceId: { exact: choice.videoDeviceId }, ...size } : size;
    /** @type {MediaStream | null} */
    let stream = null;
    this.problem = null;
    for (const constraints of [{ audio, video }, { audio }, { video }]) {
      try {
        stream = await navigator.mediaDevices.getUserMedia(constraints);
        break;
      } catch (error) {
        this.problem = mediaErrorText(error);
      }
    }
    const wasAudio = this.audioTrack?.enabled ?? true;
    const wasVideo = this.videoTrack?.enabled ?? true;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = stream || new MediaStream();
    if (this.audioTrack) this.audioTrack.enabled = wasAudio;
    if (this.videoTrack) this.videoTrack.enabled = wasVideo;
    if (stream && stream.getTracks().length === 2) this.problem = null;
    this.dispatchEvent(new Event("change"));
  }

  /**
   * Ask the running camera (and any started later) for another capture size.
   * @param {CameraSize} size
   */
  async setCameraSize(size) {
    this.cameraSize = size;
    const track = this.videoTrack;
    if (!track || track.readyState !== "live") return;
    try {
      await track.applyConstraints({ width: { ideal: size.width }, height: { ideal: size.height } });
    } catch (error) {
      console.warn("the camera keeps its size", error);
    }
  }

  /** @returns {Promise<{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}>} */
  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audio: all.filter((d) => d.kind === "audioinput"),
      video: all.filter((d) => d.kind === "videoinput"),
    };
  }

  /** @param {boolean} on */
  setAudio(on) {
    if (this.audioTrack) this.audioTrack.enabled = on;
    this.dispatchEvent(new Event("change"));
  }

  /** @param {boolean} on */
  setVideo(on) {
    if (this.videoTrack) this.videoTrack.enabled = on;
    this.dispatchEvent(new Event("change"));
  }

  /** @returns {{audio: boolean, video: boolean, screen: boolean}} what others receive */
  state() {
    return {
      audio: Boolean(this.audioTrack?.enabled),
      video: Boolean(this.videoTrack?.enabled),
      screen: this.screen !== null,
    };
  }

  /**
   * Ask for a screen, window or tab to share.
   * @returns {Promise<MediaStreamTrack>}
   */
  async startScreen() {
    const capture = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
    const track = capture.getVideoTracks()[0];
    track.contentHint = "detail";
    this.screen = track;
    track.addEventListener("ended", () => this.stopScreen());
    this.dispatchEvent(new Event("change"));
    return track;
  }

  stopScreen() {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.dispatchEvent(new Event("screen-ended"));
    this.dispatchEvent(new Event("change"));
  }

  stop() {
    for (const track of this.stream.getTracks()) track.stop();
    this.screen?.stop();
    this.screen = null;
  }
}

/**
 * Measure a stream's audio level (0..1) about 10 times a second.
 * @param {MediaStream} stream
 * @param {(level: number) => void} onLevel
 * @returns {() => void} stops measuring
 */
export function watchLevel(stream, onLevel) {
  if (stream.getAudioTracks().length === 0) return () => {};
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 100);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    source.disconnect();
    void context.close();
  };
}
