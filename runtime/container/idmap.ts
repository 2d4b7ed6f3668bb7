// Idmapped mounts (mounts[].uidMappings/gidMappings, options "idmap"/"ridmap"): the kernel takes
// the mapping as a user namespace fd (mount_setattr MOUNT_ATTR_IDMAP). A user namespace per
// distinct mapping is made by the native helper ("userns" mode); the host writes its maps and
// keeps an fd of it, which init uses on the detached mount before attaching it.
import type { LinuxIDMapping, Mount, Spec } from "../../spec/schema.ts";
import { Channel } from "../sys/channel.ts";
import { posix } from "../sys/path.ts";
import { AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_IDMAP, O_CLOEXEC, O_RDONLY, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE } from "../sys/constants.ts";
import { describe, hasCode } from "../sys/errors.ts";
import { Msg } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { recv } from "./stages.ts";
import { ContainerError } from "./state.ts";

export interface IdmapRequest {
  uid: readonly LinuxIDMapping[];
  gid: readonly LinuxIDMapping[];
  /** ridmap: the whole tree under the mount, not only the mount itself. */
  recursive: boolean;
}

/** What idmapping a mount asks for, if any (runtime-spec 1.3 and runc 1.2 rules). */
export function idmapOf(m: Mount, config: Spec, field: string): IdmapRequest | null {
  const opts = m.options ?? [];
  const flagged = opts.includes("idmap") || opts.includes("ridmap");
  if (!flagged && !m.uidMappings?.length && !m.gidMappings?.length) return null;
  // Without its own mappings a mount takes the container's user namespace's.
  const uid = m.uidMappings?.length ? m.uidMappings : config.linux?.uidMappings;
  const gid = m.gidMappings?.length ? m.gidMappings : config.linux?.gidMappings;
  if (!uid?.length || !gid?.length) throw new ContainerError(`${field}: an idmapped mount needs uidMappings and gidMappings (its own or the user namespace's)`);
  return { uid, gid, recursive: opts.includes("ridmap") };
}

const key = (r: IdmapRequest) => JSON.stringify([r.uid, r.gid]);

/**
 * One user namespace fd per distinct mapping. `spawn` starts the helper in userns mode with its
 * sync socket; `writeMaps` writes the maps as create does for the container.
 */
export async function idmapNamespaces(
  sys: Sys,
  requests: readonly IdmapRequest[],
  spawn: (sync: number) => { pid: number; exited: Promise<number> },
  writeMaps: (pid: number, uid: readonly LinuxIDMapping[], gid: readonly LinuxIDMapping[]) => void,
): Promise<Map<string, number>> {
  const fds = new Map<string, number>();
  try {
    for (const r of requests) {
      if (fds.has(key(r))) continue;
      const [host, child] = sys.socketpair();
      let proc;
      try {
        proc = spawn(child);
      } finally {
        sys.close(child);
      }
      try {
        const chan = new Channel(sys, host);
        if (recv(chan).type !== Msg.USERNS_READY) throw new ContainerError("idmapped mount: unexpected message from the helper");
        writeMaps(proc.pid, r.uid, r.gid);
        chan.send(Msg.USERNS_MAPPED);
        fds.set(key(r), sys.openat(AT_FDCWD, `/proc/${proc.pid}/ns/user`, O_RDONLY | O_CLOEXEC));
      } finally {
        sys.close(host);
        await proc.exited;
      }
    }
    return fds;
  } catch (e) {
    for (const fd of fds.values()) sys.close(fd);
    throw e;
  }
}

export function idmapKey(r: IdmapRequest): string {
  return key(r);
}

export function isBindMount(m: Mount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/** A detached, idmapped clone of a bind mount's source, for init to attach. */
export function prepareIdmappedBind(sys: Sys, m: Mount, bundle: string, r: IdmapRequest, userns: number, field: string): number {
  const source = posix.resolve(bundle, m.source ?? "");
  const recursive = (m.options ?? []).includes("rbind");
  const tree = sys.openTree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  try {
    sys.mountSetattr(tree, "", AT_EMPTY_PATH | (r.recursive ? AT_RECURSIVE : 0), { set: MOUNT_ATTR_IDMAP, usernsFd: userns });
    return tree;
  } catch (e) {
    sys.close(tree);
    const why = hasCode(e, "EINVAL") ? " (this filesystem or kernel cannot idmap mounts)" : "";
    throw new ContainerError(`${field}: idmap "${source}"${why}: ${describe(e)}`);
  }
}
