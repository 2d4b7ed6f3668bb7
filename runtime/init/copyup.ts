// tmpcopyup (runc's extension, which podman asks for on its tmpfs mounts): a new tmpfs starts
// with a copy of what the directory it covers held. The copy walks directory fds, never paths,
// and never follows a symlink, so nothing in the image can point it outside the rootfs. The new
// filesystem is not attached anywhere yet, so nothing can race the copy on that side either.
import {
  AT_SYMLINK_NOFOLLOW,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_WRONLY,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../sys/constants.ts";
import type { Sys } from "../sys/sys.ts";

/** Copies the tree under src into dst (open directories): files, directories, symlinks, device
 * nodes and fifos, with owners and modes (owner first: a chown clears set-id bits). */
export function copyTree(sys: Sys, src: number, dst: number): void {
  for (const { name } of sys.readdir(src)) {
    const st = sys.statx(src, name, AT_SYMLINK_NOFOLLOW);
    const type = st.mode & S_IFMT;
    if (type === S_IFDIR) {
      sys.mkdirat(dst, name, 0o700);
      const from = sys.openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      const to = sys.openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      try {
        copyTree(sys, from, to);
      } finally {
        sys.close(from);
        sys.close(to);
      }
    } else if (type === S_IFREG) {
      const from = sys.openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      const to = sys.openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600);
      try {
        const buf = new Uint8Array(1 << 16);
        for (let n; (n = sys.read(from, buf)) > 0; ) for (let at = 0; at < n; ) at += sys.write(to, buf.subarray(at, n));
      } finally {
        sys.close(from);
        sys.close(to);
      }
    } else if (type === S_IFLNK) {
      sys.symlinkat(sys.readlinkat(src, name), dst, name);
    } else if (type === S_IFCHR || type === S_IFBLK || type === S_IFIFO) {
      sys.mknodat(dst, name, type | 0o600, st.rdevMajor, st.rdevMinor);
    } else {
      continue; // a socket has nothing to copy
    }
    sys.fchownat(dst, name, st.uid, st.gid, AT_SYMLINK_NOFOLLOW);
    if (type !== S_IFLNK) sys.fchmodat(dst, name, st.mode & 0o7777);
  }
}
