// Loading and attaching the cgroup v2 device program. runc's order: query what is attached, load
// the new program, attach it with BPF_F_ALLOW_MULTI, then detach the old ones. While both are
// attached every program must allow an access, so an update never opens a window with more
// access than either the old or the new rules give.
import { wrapError } from "./files.ts";
import { encode, type Insn, LICENSE } from "./devices_bpf.ts";
import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_ATTACH,
  BPF_PROG_DETACH,
  BPF_PROG_GET_FD_BY_ID,
  BPF_PROG_LOAD,
  BPF_PROG_QUERY,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  type BpfSys,
} from "./kernel.ts";

const FIELD = "linux.resources.devices";
// Bigger than any kernel's union bpf_attr so far: the kernel writes some results (query.revision
// since 6.6) at fixed offsets whatever size we pass, so the buffer must cover the whole union.
const ATTR_SIZE = 256;
const MAX_PROGS = 64; // BPF_CGROUP_MAX_PROGS

function attr(): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(ATTR_SIZE);
  return { bytes, view: new DataView(bytes.buffer) };
}

/** Ids of the device programs attached to the cgroup itself (not inherited ones). */
export function attachedPrograms(sys: BpfSys, dirFd: number): number[] {
  const { bytes, view } = attr();
  const ids = new Uint32Array(MAX_PROGS);
  view.setUint32(0, dirFd, true); // target_fd
  view.setUint32(4, BPF_CGROUP_DEVICE, true); // attach_type
  view.setUint32(24, MAX_PROGS, true); // prog_cnt (in: room, out: count)
  sys.bpf(BPF_PROG_QUERY, bytes, new Map([[16, new Uint8Array(ids.buffer)]]));
  return [...ids.subarray(0, view.getUint32(24, true))];
}

function load(sys: BpfSys, prog: readonly Insn[]): number {
  const insns = encode(prog);
  const license = Buffer.from(LICENSE + "\0");
  const build = (log?: Uint8Array) => {
    const { bytes, view } = attr();
    view.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
    view.setUint32(4, prog.length, true);
    const pointers = new Map([[8, insns], [16, new Uint8Array(license)]]);
    if (log !== undefined) {
      view.setUint32(24, 1, true); // log_level
      view.setUint32(28, log.byteLength, true);
      pointers.set(32, log);
    }
    bytes.set(Buffer.from("tsrun_devices"), 48); // prog_name, for bpftool
    return { bytes, pointers };
  };
  try {
    const { bytes, pointers } = build();
    return sys.bpf(BPF_PROG_LOAD, bytes, pointers);
  } catch (err) {
    // Load again with the verifier's log, only to say why.
    const log = new Uint8Array(16384);
    try {
      const { bytes, pointers } = build(log);
      sys.close(sys.bpf(BPF_PROG_LOAD, bytes, pointers));
    } catch {}
    const text = Buffer.from(log).toString("utf8").replace(/\0.*$/s, "").trim().split("\n").slice(-3).join("; ");
    throw wrapError(`${FIELD}: load the device program (BPF_PROG_LOAD)${text ? ` [verifier: ${text}]` : ""}`, err);
  }
}

function attachAttr(dirFd: number, progFd: number, flags: number): Uint8Array {
  const { bytes, view } = attr();
  view.setUint32(0, dirFd, true); // target_fd
  view.setUint32(4, progFd, true); // attach_bpf_fd
  view.setUint32(8, BPF_CGROUP_DEVICE, true); // attach_type
  view.setUint32(12, flags, true); // attach_flags
  return bytes;
}

function progFdById(sys: BpfSys, id: number): number {
  const { bytes, view } = attr();
  view.setUint32(0, id, true);
  return sys.bpf(BPF_PROG_GET_FD_BY_ID, bytes);
}

/** Make `prog` the only device program attached to the cgroup directory `dir`. */
export function installDeviceProgram(sys: BpfSys, dir: string, prog: readonly Insn[]): void {
  let dirFd: number;
  try {
    dirFd = sys.openDir(dir);
  } catch (err) {
    throw wrapError(`${FIELD}: open "${dir}"`, err);
  }
  try {
    let old: number[];
    try {
      old = attachedPrograms(sys, dirFd);
    } catch (err) {
      throw wrapError(`${FIELD}: list the device programs of "${dir}" (BPF_PROG_QUERY)`, err);
    }
    const progFd = load(sys, prog);
    try {
      sys.bpf(BPF_PROG_ATTACH, attachAttr(dirFd, progFd, BPF_F_ALLOW_MULTI));
    } catch (err) {
      throw wrapError(`${FIELD}: attach the device program to "${dir}" (BPF_PROG_ATTACH)`, err);
    } finally {
      // The cgroup holds its own reference now.
      sys.close(progFd);
    }
    for (const id of old) {
      try {
        const fd = progFdById(sys, id);
        try {
          sys.bpf(BPF_PROG_DETACH, attachAttr(dirFd, fd, 0));
        } finally {
          sys.close(fd);
        }
      } catch (err) {
        // The new program is in force; the old one still restricts too, so access is not widened.
        throw wrapError(`${FIELD}: detach the previous device program ${id} from "${dir}" (BPF_PROG_DETACH)`, err);
      }
    }
  } finally {
    sys.close(dirFd);
  }
}
