// @ts-check
/**
 * Recording the meeting (hosts and cohosts): the recording is announced to meeting-service,
 * which answers who records it. `kind: "server"` (the room is on the SFU): the server records
 * every participant, this page records nothing, and the recording goes on if we leave (any
 * host or cohost stops it). `kind: "browser"`: this page records (MediaRecorder) and streams
 * it to media-service as it is made (tus). Either way the room is told (`recording` frames) so
 * that everyone sees that they are being recorded.
 * @module pages/room/recording
 */
import { paths } from "../../api.js";
import { MeetingRecorder } from "../../recorder.js";
import { session } from "../../session.js";
import { StreamingUpload } from "../../tus.js";
import { toast } from "../../ui.js";

/** @typedef {import("../room.js").Room} Room */

export class Recording {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** @type {MeetingRecorder | null} */
    this.recorder = null;
    /** @type {string | null} */
    this.recordingId = null;
    /** @type {string | null} the server recording this page started (or found running) */
    this.serverId = null;
  }

  /** Whether this page records, or started the server's recording. */
  get active() {
    return this.recorder !== null || this.serverId !== null;
  }

  /** Stop a server recording: the server composes it (progress on the Recordings page). */
  async stopServer() {
    const room = this.room;
    const meetingId = room.options.meeting.id;
    const id = String(this.serverId);
    this.serverId = null;
    room.connection.send({ type: "recording", active: false });
    room.refresh();
    try {
      await session.api.request(paths.recording(meetingId, id), { method: "PATCH", json: { status: "processing" } });
      toast("Recording stopped. The server is preparing it; it appears under Recordings.");
    } catch (error) {
      toast(`The recording could not be stopped: ${error instanceof Error ? error.message : error}`, "error");
    }
  }

  /** Start recording, or stop and save what was recorded. */
  async toggle() {
    const room = this.room;
    const meetingId = room.options.meeting.id;
    if (this.serverId) {
      await this.stopServer();
      return;
    }
    if (!this.recorder && room.room.recording) {
      // Someone else's server recording runs (its starter may have left): a moderator stops it.
      /** @type {Array<{id: string, status: string, kind?: string}>} */
      const list = await session.api.request(paths.recordings(meetingId)).catch(() => []);
      const running = list.find((r) => r.status === "recording");
      if (running?.kind === "server") {
        this.serverId = running.id;
        await this.stopServer();
        return;
      }
      if (!running) {
        // The server's recording ended by itself (its longest length): the badge goes.
        room.connection.send({ type: "recording", active: false });
        return;
      }
    }
    if (this.recorder) {
      const recorder = this.recorder;
      this.recorder = null;
      room.connection.send({ type: "recording", active: false });
      room.refresh();
      try {
        await recorder.stop();
        toast("Recording saved. It appears under Recordings once processed.");
      } catch (error) {
        toast(`The recording could not be saved: ${error instanceof Error ? error.message : error}`, "error");
        await session.api.request(paths.recording(meetingId, String(this.recordingId)), { method: "PATCH", json: { status: "failed" } }).catch(() => {});
      }
      return;
    }
    try {
      const recording = await session.api.request(paths.recordings(meetingId), { method: "POST" });
      this.recordingId = recording.id;
      if (recording.kind === "server") {
        this.serverId = recording.id;
        room.connection.send({ type: "recording", active: true });
        room.refresh();
        return;
      }
      const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
      const upload = new StreamingUpload(() => session.accessToken, {
        filename: `${room.options.meeting.title}-${stamp}.webm`,
        content_type: "video/webm",
        kind: "recording",
        meeting_id: meetingId,
        recording_id: recording.id,
      });
      const recorder = new MeetingRecorder({
        videos: () => [
          ...(room.stage.hidden ? [] : [room.stageVideo]),
          ...[...room.tiles.values()].filter((t) => !t.element.classList.contains("camera-off")).map((t) => t.video),
        ],
        audio: () => [room.media.stream, ...[...room.mesh.links.values()].flatMap((l) => (l.camera ? [l.camera] : []))],
      }, upload);
      await recorder.start();
      this.recorder = recorder;
      room.connection.send({ type: "recording", active: true });
    } catch (error) {
      toast(`Recording could not start: ${error instanceof Error ? error.message : error}`, "error");
    }
    room.refresh();
  }

  /** Leaving the room: stop this page's recording (what was recorded is uploaded as far as it
   * got); a server recording goes on without us. */
  stop() {
    if (!this.recorder) return;
    this.room.connection.send({ type: "recording", active: false });
    void this.recorder.stop().catch(() => {});
    this.recorder = null;
  }
}
