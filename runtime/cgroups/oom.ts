// OOM notifications for `events`, as runc gets them: on v1 an eventfd registered for
// memory.oom_control through cgroup.event_control, which the kernel signals at every OOM in the
// cgroup (and once more when the cgroup is removed); on v2 inotify on memory.events, whose
// oom_kill counter grows with each kill, and on cgroup.events, whose "populated 0" ends the watch.
import { join } from "../sys/path.ts";
import { type CgroupFs, errorCode, wrapError } from "./files.ts";
import { IN_MODIFY, type CgroupKernel } from "./kernel.ts";

export interface OomWatch {
  /** Becomes readable (poll POLLIN) when something may have happened; call read() then. */
  readonly fd: number;
  /** OOM events since the last call (0 if none); never blocks. */
  read(): number;
  /** True once the cgroup is gone or empty: no more events can come. */
  readonly done: boolean;
  close(): void;
}

const counter = (fsys: CgroupFs, dir: string): bigint | undefined => {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fsys.read(join(dir, "memory.events")));
    return BigInt(m?.[1] ?? 0);
  } catch (err) {
    if (errorCode(err) === "ENOENT" || errorCode(err) === "ENODEV") return undefined;
    throw err;
  }
};

function watchV1(fsys: CgroupFs, kernel: CgroupKernel, dir: string): OomWatch {
  const what = `watch OOM events of "${dir}"`;
  const efd = kernel.eventfd();
  try {
    const ofd = kernel.openFile(join(dir, "memory.oom_control"));
    try {
      fsys.write(join(dir, "cgroup.event_control"), `${efd} ${ofd}`);
    } finally {
      // The registration holds its own reference to the cgroup.
      kernel.close(ofd);
    }
  } catch (err) {
    kernel.close(efd);
    throw wrapError(what, err);
  }
  const buf = new Uint8Array(8);
  let done = false;
  return {
    fd: efd,
    get done() {
      return done;
    },
    read() {
      if (done || kernel.read(efd, buf) !== 8) return 0;
      // The kernel signals the eventfd when the cgroup goes away too (runc checks the same way).
      if (!fsys.exists(join(dir, "cgroup.event_control"))) {
        done = true;
        return 0;
      }
      return Number(new DataView(buf.buffer).getBigUint64(0, true));
    },
    close: () => kernel.close(efd),
  };
}

function watchV2(fsys: CgroupFs, kernel: CgroupKernel, dir: string): OomWatch {
  const fd = kernel.inotifyInit();
  let last: bigint | undefined;
  try {
    kernel.inotifyAddWatch(fd, join(dir, "memory.events"), IN_MODIFY);
    kernel.inotifyAddWatch(fd, join(dir, "cgroup.events"), IN_MODIFY);
    last = counter(fsys, dir);
  } catch (err) {
    kernel.close(fd);
    throw wrapError(`watch OOM events of "${dir}"`, err);
  }
  const buf = new Uint8Array(4096);
  let done = last === undefined;
  return {
    fd,
    get done() {
      return done;
    },
    read() {
      while (kernel.read(fd, buf) > 0) {} // the events only say "look again"
      if (done) return 0;
      const now = counter(fsys, dir);
      let populated = true;
      try {
        populated = !/^populated 0$/m.test(fsys.read(join(dir, "cgroup.events")));
      } catch {
        populated = false;
      }
      if (now === undefined || !populated) done = true;
      if (now === undefined || last === undefined) return 0;
      const n = Number(now - last);
      last = now;
      return n;
    },
    close: () => kernel.close(fd),
  };
}

/** Watch the memory cgroup at `dir` (version 1 or 2) for OOM events. */
export function watchOom(fsys: CgroupFs, kernel: CgroupKernel, dir: string, version: 1 | 2): OomWatch {
  return version === 1 ? watchV1(fsys, kernel, dir) : watchV2(fsys, kernel, dir);
}
