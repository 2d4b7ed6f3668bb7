// Test support: a CgroupKernel that records calls and keeps the state the kernel would (device
// programs loaded and attached per cgroup directory, eventfd counters), so tests can check the
// program actually in force by running it. Not used outside tests.
import { nodeError } from "./fake_cgroupfs.ts";
import { decode, type Insn } from "./devices_bpf.ts";
import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_ATTACH,
  BPF_PROG_DETACH,
  BPF_PROG_GET_FD_BY_ID,
  BPF_PROG_LOAD,
  BPF_PROG_QUERY,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  type CgroupKernel,
} from "./kernel.ts";

const NAMES: Record<number, string> = {
  [BPF_PROG_LOAD]: "PROG_LOAD",
  [BPF_PROG_ATTACH]: "PROG_ATTACH",
  [BPF_PROG_DETACH]: "PROG_DETACH",
  [BPF_PROG_GET_FD_BY_ID]: "PROG_GET_FD_BY_ID",
  [BPF_PROG_QUERY]: "PROG_QUERY",
};

type Fd = { kind: "dir"; path: string } | { kind: "prog"; id: number } | { kind: "eventfd"; count: bigint } | { kind: "inotify" } | { kind: "file"; path: string };

export class FakeKernel implements CgroupKernel {
  /** Every call, in order: "openDir /x", "bpf PROG_LOAD", "close 3", … */
  readonly calls: string[] = [];
  /** Program id → instructions, for every program ever loaded. */
  readonly programs = new Map<number, Insn[]>();
  /** Cgroup directory → ids of the device programs attached to it, in attach order. */
  readonly attached = new Map<string, number[]>();
  /** bpf command name ("PROG_ATTACH") → errno code its next calls fail with. */
  readonly failBpf = new Map<string, string>();
  private readonly fds = new Map<number, Fd>();
  private nextFd = 3;
  private nextId = 1;

  private open(fd: Fd): number {
    const n = this.nextFd++;
    this.fds.set(n, fd);
    return n;
  }

  private get<K extends Fd["kind"]>(n: number, kind: K): Extract<Fd, { kind: K }> {
    const fd = this.fds.get(n);
    if (fd?.kind !== kind) throw nodeError("EBADF", kind, String(n));
    return fd as Extract<Fd, { kind: K }>;
  }

  /** Descriptors still open: a test can check nothing leaked. */
  openFds(): number[] {
    return [...this.fds.keys()];
  }

  /** The single program attached to `dir`, or an error if there is not exactly one. */
  programOf(dir: string): Insn[] {
    const ids = this.attached.get(dir) ?? [];
    if (ids.length !== 1) throw new Error(`expected one program on ${dir}, found ${ids.length}`);
    return this.programs.get(ids[0]!)!;
  }

  bpf(cmd: number, attr: Uint8Array, pointers?: ReadonlyMap<number, Uint8Array>): number {
    const name = NAMES[cmd] ?? String(cmd);
    this.calls.push(`bpf ${name}`);
    const failure = this.failBpf.get(name);
    if (failure !== undefined) throw nodeError(failure, "bpf", name);
    const view = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
    const u32 = (off: number) => view.getUint32(off, true);
    switch (cmd) {
      case BPF_PROG_LOAD: {
        if (u32(0) !== BPF_PROG_TYPE_CGROUP_DEVICE) throw nodeError("EINVAL", "bpf", "prog_type");
        const insns = pointers?.get(8);
        const license = Buffer.from(pointers?.get(16) ?? []).toString();
        if (insns === undefined || insns.byteLength !== u32(4) * 8 || !license.endsWith("\0")) throw nodeError("EINVAL", "bpf", "load");
        const id = this.nextId++;
        this.programs.set(id, decode(insns));
        return this.open({ kind: "prog", id });
      }
      case BPF_PROG_QUERY: {
        const dir = this.get(u32(0), "dir").path;
        if (u32(4) !== BPF_CGROUP_DEVICE) throw nodeError("EINVAL", "bpf", "attach_type");
        const ids = this.attached.get(dir) ?? [];
        const out = pointers?.get(16);
        if (out === undefined || out.byteLength < ids.length * 4 || u32(24) < ids.length) throw nodeError("ENOSPC", "bpf", "query");
        new Uint32Array(out.buffer, out.byteOffset, ids.length).set(ids);
        view.setUint32(24, ids.length, true);
        return 0;
      }
      case BPF_PROG_ATTACH: {
        const dir = this.get(u32(0), "dir").path;
        const id = this.get(u32(4), "prog").id;
        if (u32(8) !== BPF_CGROUP_DEVICE || u32(12) !== BPF_F_ALLOW_MULTI) throw nodeError("EINVAL", "bpf", "attach");
        this.attached.set(dir, [...(this.attached.get(dir) ?? []), id]);
        return 0;
      }
      case BPF_PROG_DETACH: {
        const dir = this.get(u32(0), "dir").path;
        const id = this.get(u32(4), "prog").id;
        const ids = this.attached.get(dir) ?? [];
        if (!ids.includes(id)) throw nodeError("ENOENT", "bpf", "detach");
        this.attached.set(dir, ids.filter((i) => i !== id));
        return 0;
      }
      case BPF_PROG_GET_FD_BY_ID: {
        if (!this.programs.has(u32(0))) throw nodeError("ENOENT", "bpf", "get_fd_by_id");
        return this.open({ kind: "prog", id: u32(0) });
      }
    }
    throw nodeError("EINVAL", "bpf", name);
  }

  openDir(path: string): number {
    this.calls.push(`openDir ${path}`);
    return this.open({ kind: "dir", path });
  }

  openFile(path: string): number {
    this.calls.push(`openFile ${path}`);
    return this.open({ kind: "file", path });
  }

  close(fd: number): void {
    this.calls.push(`close ${fd}`);
    if (!this.fds.delete(fd)) throw nodeError("EBADF", "close", String(fd));
  }

  eventfd(): number {
    this.calls.push("eventfd");
    return this.open({ kind: "eventfd", count: 0n });
  }

  /** What the kernel does at an OOM: add to the eventfd's counter. */
  signal(fd: number, n = 1n): void {
    this.get(fd, "eventfd").count += n;
  }

  inotifyInit(): number {
    this.calls.push("inotifyInit");
    return this.open({ kind: "inotify" });
  }

  inotifyAddWatch(fd: number, path: string, mask: number): number {
    this.get(fd, "inotify");
    this.calls.push(`inotifyAddWatch ${path} ${mask}`);
    return 1;
  }

  read(fd: number, buf: Uint8Array): number {
    const f = this.fds.get(fd);
    if (f?.kind !== "eventfd") return 0;
    if (f.count === 0n) return 0;
    new DataView(buf.buffer, buf.byteOffset).setBigUint64(0, f.count, true);
    f.count = 0n;
    return 8;
  }
}
