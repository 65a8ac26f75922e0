import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join, resolve } from 'path';

export const REPO = resolve(__dirname, '..', '..');
export const TSRUNC = join(REPO, 'bin', 'tsrunc');

// The default busybox bundle is built once into build/ (git-ignored) and hard-linked per test bundle.
const TEMPLATE = join(REPO, 'build', 'test-bundle');

/** Made again when what makes it changed since (the default config, the script). */
function stale(): boolean {
  const made = join(TEMPLATE, 'config.json');
  if (!fs.existsSync(made)) return true;
  const at = fs.statSync(made).mtimeMs;
  return [join(REPO, 'dist', 'ocispec', 'default-spec.js'), join(REPO, 'scripts', 'make-bundle.sh')].some(
    (f) => fs.existsSync(f) && fs.statSync(f).mtimeMs > at,
  );
}

function template(): string {
  if (stale()) {
    const tmp = `${TEMPLATE}.${process.pid}`;
    execFileSync(join(REPO, 'scripts', 'make-bundle.sh'), [tmp], { stdio: 'inherit' });
    fs.rmSync(TEMPLATE, { recursive: true, force: true });
    fs.renameSync(tmp, TEMPLATE);
  }
  return TEMPLATE;
}

/** A JSON object for config.json that tests edit freely. */
export type Config = Record<string, any>;

export interface Bundle {
  dir: string;
  config: Config;
  write(): void;
  remove(): void;
}

/** A fresh bundle: busybox rootfs and the default config, with process.args set to args. */
export function makeBundle(args: string[], edit?: (c: Config) => void): Bundle {
  const src = template();
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-bundle-'));
  fs.chmodSync(dir, 0o755); // a user namespace's root (an unprivileged host uid) must reach the rootfs
  execFileSync('cp', ['-al', join(src, 'rootfs'), join(dir, 'rootfs')]);
  const config = JSON.parse(fs.readFileSync(join(src, 'config.json'), 'utf8')) as Config;
  config.process.args = args;
  edit?.(config);
  const b: Bundle = {
    dir,
    config,
    write: () => fs.writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2)),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  b.write();
  return b;
}

let seq = 0;
/** Unique container ids, recognisable in leftovers. */
export function uniqueId(prefix = 'tsr-test'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}

/** Bundles a test file makes, removed together in its afterAll. */
export function bundleTracker(): { make: typeof makeBundle; removeAll: () => void } {
  const made: Bundle[] = [];
  return {
    make: (args, edit) => {
      const b = makeBundle(args, edit);
      made.push(b);
      return b;
    },
    removeAll: () => {
      for (const b of made.splice(0)) b.remove();
    },
  };
}
