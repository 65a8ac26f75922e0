// linux.netDevices (runtime-spec v1.3): host interfaces moved into the container's network
// namespace, over rtnetlink (no `ip`). As runc: the link goes down, moves and is renamed in one
// message, gets back its permanent global addresses (the kernel drops addresses on a move) and
// comes up in its new namespace.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { errnoText } from '../sys/errors';
import { inNamespaces } from './enter';

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;
const IFF_UP = 0x1;
const REPLY_TIMEOUT_MS = 5000;

/** One rtattr, padded to 4 bytes. */
function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};

/** struct ifinfomsg (16 bytes). */
function ifinfo(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

function parseAttrs(b: Buffer, from: number, to: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = from; off + 4 <= to;) {
    const len = b.readUInt16LE(off);
    if (len < 4) break;
    out.set(b.readUInt16LE(off + 2) & 0x3fff, b.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

/** A NETLINK_ROUTE socket with one request in flight at a time. */
class Rtnl {
  private seq = 1;
  constructor(
    private readonly sys: Libc,
    readonly fd: number,
  ) {}

  /** Sends, then reads the replies: the messages of a dump, or the ACK; an error is thrown, named. */
  request(type: number, flags: number, body: Buffer, what: string): Buffer[] {
    const seq = this.seq++;
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32LE(16 + body.length, 0);
    hdr.writeUInt16LE(type, 4);
    hdr.writeUInt16LE(NLM_F_REQUEST | flags, 6);
    hdr.writeUInt32LE(seq, 8);
    fs.writeSync(this.fd, Buffer.concat([hdr, body]));
    const replies: Buffer[] = [];
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      if (!this.sys.pollReadable([this.fd], REPLY_TIMEOUT_MS).length)
        throw new Error(`${what}: no answer from the kernel within ${REPLY_TIMEOUT_MS / 1000}s`);
      const n = fs.readSync(this.fd, buf, 0, buf.length, null);
      for (let off = 0; off + 16 <= n;) {
        const len = buf.readUInt32LE(off);
        const mtype = buf.readUInt16LE(off + 4);
        if (len < 16) return replies;
        if (buf.readUInt32LE(off + 8) === seq) {
          if (mtype === NLMSG_DONE) return replies;
          if (mtype === NLMSG_ERROR) {
            const err = -buf.readInt32LE(off + 16);
            if (err === 0) return replies;
            throw new Error(`${what}: ${errnoText(err)}`);
          }
          replies.push(Buffer.from(buf.subarray(off, off + len)));
        }
        off += (len + 3) & ~3;
      }
    }
  }

  indexOf(name: string, where: string): number {
    const [reply] = this.request(
      RTM_GETLINK,
      NLM_F_ACK,
      Buffer.concat([ifinfo(0), attr(IFLA_IFNAME, cstr(name))]),
      `${where}: finding ${name}`,
    );
    if (!reply) throw new Error(`${where}: no network device ${name}`);
    return reply.readInt32LE(16 + 4);
  }

  setUp(index: number, up: boolean, what: string): void {
    this.request(RTM_NEWLINK, NLM_F_ACK, ifinfo(index, up ? IFF_UP : 0, IFF_UP), what);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

interface Address {
  family: number;
  prefixlen: number;
  local?: Buffer;
  address?: Buffer;
}

/** The permanent global-scope addresses of a link: what runc carries over. */
function globalAddresses(nl: Rtnl, index: number, where: string): Address[] {
  const body = Buffer.alloc(8); // struct ifaddrmsg, family AF_UNSPEC: every family
  const out: Address[] = [];
  for (const m of nl.request(RTM_GETADDR, NLM_F_DUMP, body, `${where}: listing addresses`)) {
    if (m.readUInt16LE(4) !== RTM_NEWADDR || m.readUInt32LE(16 + 4) !== index) continue;
    const attrs = parseAttrs(m, 16 + 8, m.length);
    const flags = attrs.get(IFA_FLAGS)?.readUInt32LE(0) ?? m.readUInt8(16 + 2);
    if (m.readUInt8(16 + 3) !== RT_SCOPE_UNIVERSE || !(flags & IFA_F_PERMANENT)) continue;
    out.push({ family: m.readUInt8(16), prefixlen: m.readUInt8(16 + 1), local: attrs.get(IFA_LOCAL), address: attrs.get(IFA_ADDRESS) });
  }
  return out;
}

function addAddress(nl: Rtnl, index: number, a: Address, what: string): void {
  const msg = Buffer.alloc(8);
  msg.writeUInt8(a.family, 0);
  msg.writeUInt8(a.prefixlen, 1);
  msg.writeUInt32LE(index, 4);
  const parts: Buffer[] = [msg];
  if (a.local) parts.push(attr(IFA_LOCAL, a.local));
  if (a.address) parts.push(attr(IFA_ADDRESS, a.address));
  nl.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, Buffer.concat(parts), what);
}

/** A name the kernel takes for a link (dev_valid_name). */
export function validDeviceName(name: string): boolean {
  return name.length > 0 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/**
 * Moves each host device (by name) into the network namespace at netnsPath, under its new name.
 * Runs in the runtime, in the host's network namespace, while init waits.
 */
export function moveNetDevices(sys: Libc, devices: Record<string, string>, netnsPath: string): void {
  const host = new Rtnl(sys, sys.netlinkRouteSocket());
  let target: Rtnl | undefined;
  const nsFd = fs.openSync(netnsPath, C.O_RDONLY | C.O_CLOEXEC);
  try {
    for (const [name, newName] of Object.entries(devices)) {
      const where = `linux.netDevices.${name}`;
      const index = host.indexOf(name, where);
      host.setUp(index, false, `${where}: setting ${name} down`);
      const addresses = globalAddresses(host, index, where);
      host.request(
        RTM_NEWLINK,
        NLM_F_ACK,
        Buffer.concat([ifinfo(index), attr(IFLA_IFNAME, cstr(newName)), attr(IFLA_NET_NS_FD, u32(nsFd))]),
        `${where}: moving ${name} into ${netnsPath}${newName !== name ? ` as ${newName}` : ''}`,
      );
      // a socket of the container's namespace, made there by this thread
      target ??= new Rtnl(
        sys,
        inNamespaces(sys, [{ type: 'network', flag: C.CLONE_NEWNET, path: netnsPath }], () => sys.netlinkRouteSocket()),
      );
      const moved = target.indexOf(newName, where);
      for (const a of addresses) addAddress(target, moved, a, `${where}: adding an address to ${newName}`);
      target.setUp(moved, true, `${where}: setting ${newName} up`);
    }
  } finally {
    fs.closeSync(nsFd);
    host.close();
    target?.close();
  }
}
