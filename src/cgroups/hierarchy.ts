import { readFileSync } from 'fs';

/** One mounted cgroup hierarchy. */
export interface Hierarchy {
  /** Where it is mounted on the host. */
  mountpoint: string;
  version: 1 | 2;
  /** Controllers (v1: from the mount options, including "name=..."; v2: cgroup.controllers). */
  controllers: string[];
  /** This process's cgroup in that hierarchy, from /proc/self/cgroup. */
  ownPath: string;
}

export interface CgroupLayout {
  /** 'v2' on a pure cgroup v2 host; 'v1' on legacy or hybrid hosts. */
  mode: 'v1' | 'v2';
  hierarchies: Hierarchy[];
}

/** The v1 controllers a hierarchy's mount options name (made once: create reads the layout on its way). */
const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

function unescapeMountinfo(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses mountinfo and /proc/self/cgroup text (injectable for tests). */
export function parseLayout(mountinfo: string, selfCgroup: string, v2Controllers = ''): CgroupLayout {
  const own = new Map<string, string>(); // key: controller list ("" for v2) → path
  for (const line of selfCgroup.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    own.set(line.slice(first + 1, second), line.slice(second + 1));
  }
  const hierarchies: Hierarchy[] = [];
  let rootIsV2 = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountpoint = unescapeMountinfo(line.slice(0, sep).split(' ')[4]);
    if (fstype === 'cgroup2') {
      if (mountpoint === '/sys/fs/cgroup') rootIsV2 = true;
      hierarchies.push({ mountpoint, version: 2, controllers: v2Controllers.split(/\s+/).filter(Boolean), ownPath: own.get('') ?? '/' });
      continue;
    }
    const controllers = superOpts.split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
    if (!controllers.length) continue;
    const key = [...own.keys()].find((k) => k.split(',').sort().join(',') === [...controllers].sort().join(','));
    hierarchies.push({ mountpoint, version: 1, controllers, ownPath: key !== undefined ? own.get(key)! : '/' });
  }
  // The same hierarchy can be mounted twice (bind mounts); keep the first mountpoint of each.
  const unique = new Map<string, Hierarchy>();
  for (const h of hierarchies) {
    const key = `${h.version}:${h.controllers.join(',')}`;
    if (!unique.has(key)) unique.set(key, h);
  }
  return { mode: rootIsV2 ? 'v2' : 'v1', hierarchies: [...unique.values()] };
}

export function hostLayout(): CgroupLayout {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  // boot's copy where it primed the cgroup move (cgroups/prime.ts: SELF_CGROUP_AT_BOOT)
  const self =
    (process as unknown as Record<symbol, string | undefined>)[Symbol.for('tsrunc.self-cgroup-at-boot')] ??
    readFileSync('/proc/self/cgroup', 'utf8');
  let v2 = '';
  try {
    v2 = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8');
  } catch {
    // not a v2 root
  }
  return parseLayout(mountinfo, self, v2);
}
