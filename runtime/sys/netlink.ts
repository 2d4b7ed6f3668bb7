// A little rtnetlink (RFC 3549), for linux.netDevices: find a link, list its addresses, move
// it into another network namespace under a new name, and give it its addresses back there.
// The host uses it before the move; init (inside the container's network namespace) after.
import { SyscallError } from "./errors.ts";
import type { Sys } from "./sys.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_DUMP = 0x300;

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;
const IFF_UP = 0x1;

export interface Address {
  family: number;
  prefixlen: number;
  scope: number;
  flags: number;
  /** base64 of the raw address bytes */
  local?: string;
  address?: string;
}

interface Message {
  type: number;
  body: Uint8Array;
}

const align = (n: number) => (n + 3) & ~3;

function attr(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(align(4 + data.byteLength));
  const v = new DataView(out.buffer);
  v.setUint16(0, 4 + data.byteLength, true);
  v.setUint16(2, type, true);
  out.set(data, 4);
  return out;
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const cstr = (s: string) => new TextEncoder().encode(s + "\0");

/** ifinfomsg: family, type, index, flags, change. */
function ifinfo(index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

/** Attributes of a message body after its fixed header. */
export function attrs(body: Uint8Array, offset: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = offset; at + 4 <= body.byteLength; ) {
    const len = v.getUint16(at, true);
    if (len < 4) break;
    out.set(v.getUint16(at + 2, true) & 0x3fff, body.subarray(at + 4, at + len));
    at += align(len);
  }
  return out;
}

export class Netlink {
  private readonly fd: number;
  private seq = 1;

  constructor(private readonly sys: Sys) {
    this.fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  }

  close(): void {
    this.sys.close(this.fd);
  }

  /** Sends one request and collects the replies up to DONE or the ACK; an error reply throws. */
  request(type: number, flags: number, parts: Uint8Array[], what: string): Message[] {
    const len = 16 + parts.reduce((n, p) => n + p.byteLength, 0);
    const msg = new Uint8Array(len);
    const v = new DataView(msg.buffer);
    const seq = this.seq++;
    v.setUint32(0, len, true);
    v.setUint16(4, type, true);
    v.setUint16(6, NLM_F_REQUEST | flags, true);
    v.setUint32(8, seq, true);
    let at = 16;
    for (const p of parts) {
      msg.set(p, at);
      at += p.byteLength;
    }
    this.sys.write(this.fd, msg);
    const out: Message[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = this.sys.read(this.fd, buf);
      const rv = new DataView(buf.buffer, 0, n);
      for (let p = 0; p + 16 <= n; ) {
        const mlen = rv.getUint32(p, true);
        const mtype = rv.getUint16(p + 4, true);
        if (rv.getUint32(p + 8, true) === seq) {
          if (mtype === NLMSG_DONE) return out;
          if (mtype === NLMSG_ERROR) {
            const errno = -rv.getInt32(p + 16, true);
            if (errno === 0) return out;
            throw new SyscallError(what, errno, `netlink: ${what} refused`);
          }
          out.push({ type: mtype, body: buf.slice(p + 16, p + mlen) });
        }
        if (mlen < 16) break;
        p += align(mlen);
      }
      if (!(flags & NLM_F_DUMP) && !(flags & NLM_F_ACK)) return out;
    }
  }

  /** A link's index and hardware address (base64), by name. */
  link(name: string): { index: number; mac?: string } {
    const [reply] = this.request(RTM_GETLINK, NLM_F_ACK, [ifinfo(0), attr(IFLA_IFNAME, cstr(name))], `find link "${name}"`);
    if (!reply) throw new SyscallError("RTM_GETLINK", 19, `no such device "${name}"`);
    const mac = attrs(reply.body, 16).get(IFLA_ADDRESS);
    return { index: new DataView(reply.body.buffer, reply.body.byteOffset).getInt32(4, true), ...(mac ? { mac: Buffer.from(mac).toString("base64") } : {}) };
  }

  /** The index of the link with this hardware address (base64). */
  linkByMac(mac: string): number {
    for (const m of this.request(RTM_GETLINK, NLM_F_DUMP, [ifinfo(0)], "list links")) {
      const a = attrs(m.body, 16).get(IFLA_ADDRESS);
      if (a && Buffer.from(a).toString("base64") === mac) return new DataView(m.body.buffer, m.body.byteOffset).getInt32(4, true);
    }
    throw new SyscallError("RTM_GETLINK", 19, "no link with the moved device's hardware address");
  }

  /** The permanent, global-scope addresses of a link: what the runtime-spec says must move with it. */
  addresses(index: number): Address[] {
    const out: Address[] = [];
    for (const m of this.request(RTM_GETADDR, NLM_F_DUMP, [new Uint8Array(8)], "list addresses")) {
      const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      if (v.getUint32(4, true) !== index) continue;
      const a = attrs(m.body, 8);
      const extFlags = a.get(IFA_FLAGS);
      const flags = extFlags ? new DataView(extFlags.buffer, extFlags.byteOffset).getUint32(0, true) : m.body[2]!;
      const scope = m.body[3]!;
      if (!(flags & IFA_F_PERMANENT) || scope !== RT_SCOPE_UNIVERSE) continue;
      const b64 = (x: Uint8Array | undefined) => (x ? Buffer.from(x).toString("base64") : undefined);
      out.push({ family: m.body[0]!, prefixlen: m.body[1]!, scope, flags, local: b64(a.get(IFA_LOCAL)), address: b64(a.get(IFA_ADDRESS)) });
    }
    return out;
  }

  /** Moves a link into the network namespace nsFd refers to, named `name` there. */
  moveLink(index: number, nsFd: number, name: string): void {
    this.request(RTM_NEWLINK, NLM_F_ACK, [ifinfo(index), attr(IFLA_NET_NS_FD, u32(nsFd)), attr(IFLA_IFNAME, cstr(name))], `move link ${index}`);
  }

  addAddress(index: number, a: Address): void {
    const head = new Uint8Array(8);
    head[0] = a.family;
    head[1] = a.prefixlen;
    head[2] = a.flags & 0xff;
    head[3] = a.scope;
    new DataView(head.buffer).setUint32(4, index, true);
    const parts: Uint8Array[] = [head];
    if (a.local) parts.push(attr(IFA_LOCAL, Buffer.from(a.local, "base64")));
    if (a.address) parts.push(attr(IFA_ADDRESS, Buffer.from(a.address, "base64")));
    this.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, parts, `add an address to link ${index}`);
  }

  setUp(index: number): void {
    this.request(RTM_NEWLINK, NLM_F_ACK, [ifinfo(index, IFF_UP, IFF_UP)], `set link ${index} up`);
  }
}
