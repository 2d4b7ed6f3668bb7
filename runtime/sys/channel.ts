// Blocking frame I/O on the sync socket (protocol.ts). Blocking is right here: the host has
// nothing else to do while a stage works, and a stage that dies closes its end, so every read
// ends with a frame or EOF.
import { decodeError, encodeFrame, encodeError, FRAME_HEADER, type Frame, Msg } from "./protocol.ts";
import type { Sys } from "./sys.ts";

export class ChannelClosed extends Error {
  constructor() {
    super("the other end of the sync socket closed");
  }
}

export class Channel {
  constructor(
    private readonly sys: Sys,
    readonly fd: number,
  ) {}

  send(type: number, payload?: Uint8Array): void {
    const frame = encodeFrame(type, payload);
    for (let at = 0; at < frame.byteLength; ) at += this.sys.write(this.fd, frame.subarray(at));
  }

  sendJSON(type: number, value: unknown): void {
    this.send(type, new TextEncoder().encode(JSON.stringify(value)));
  }

  sendError(message: string, errno = 0): void {
    this.send(Msg.ERROR, encodeError(errno, message));
  }

  recv(): Frame {
    const head = this.readFull(FRAME_HEADER);
    const view = new DataView(head.buffer);
    const type = view.getUint32(0, true);
    const len = view.getUint32(4, true);
    return { type, payload: len ? this.readFull(len) : new Uint8Array(0) };
  }

  /** Fds that arrived with frames (SCM_RIGHTS), in order. */
  readonly fds: number[] = [];

  private readFull(len: number): Uint8Array {
    const buf = new Uint8Array(len);
    for (let at = 0; at < len; ) {
      // recvmsg, not read: a frame may carry an fd (SECCOMP_FD), which read would drop.
      const { n, fds } = this.sys.recvmsg(this.fd, buf.subarray(at));
      this.fds.push(...fds);
      if (n === 0) throw new ChannelClosed();
      at += n;
    }
    return buf;
  }
}

export function frameJSON<T>(frame: Frame): T {
  return JSON.parse(new TextDecoder().decode(frame.payload)) as T;
}

export { decodeError };
