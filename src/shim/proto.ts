// The protobuf messages the shim speaks (containerd's task API and events, ttrpc's own frames),
// through protobufjs. The .proto files are in proto/ (each says where it came from); the build
// turns them into one JSON descriptor (dist/shim/protos.json) so no .proto is parsed at start.
// Field names are protobufjs's camelCase (exit_status: exitStatus); 64-bit integers are numbers;
// a decoded message has every field (a message field that is not set is null).
import fs = require('fs');
import { isAbsolute, join } from 'path';
import protobuf = require('protobufjs');

export const DESCRIPTOR = join(__dirname, 'protos.json');

/** A google.protobuf.Any: what the type is, and its encoding (protobufjs keeps type_url snake_case). */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

export class Proto {
  private readonly types = new Map<string, protobuf.Type>();

  constructor(private readonly root: protobuf.Root) {}

  /** From the descriptor the build made. */
  static load(file = DESCRIPTOR): Proto {
    return new Proto(protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')) as protobuf.INamespace));
  }

  /** From .proto files (the build, and tests), resolved against dir. */
  static fromFiles(dir: string, files: readonly string[]): Proto {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => {
      // google/protobuf/*.proto are protobufjs's own (protobuf.common)
      if (target.startsWith('google/protobuf/')) return target;
      return isAbsolute(target) ? target : join(dir, target);
    };
    root.loadSync(files as string[]);
    root.resolveAll();
    return new Proto(root);
  }

  toJSON(): protobuf.INamespace {
    return this.root.toJSON();
  }

  type(name: string): protobuf.Type {
    let t = this.types.get(name);
    if (!t) {
      t = this.root.lookupType(name);
      this.types.set(name, t);
    }
    return t;
  }

  encode(type: string, obj: Record<string, unknown>): Uint8Array {
    const t = this.type(type);
    return t.encode(t.fromObject(obj)).finish();
  }

  decode<T>(type: string, bytes: Uint8Array): T {
    const t = this.type(type);
    // defaults: proto3 leaves zeros off the wire (an exit status of 0 is no field at all)
    return t.toObject(t.decode(bytes), { longs: Number, enums: Number, bytes: Buffer as unknown as typeof Array, defaults: true }) as T;
  }

  /**
   * Makes every message type's codecs now: protobufjs generates (and V8 compiles) them on a
   * type's first use, some milliseconds each, which a spare shim pays ahead instead of a Create.
   */
  warm(): void {
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Type) {
          const name = o.fullName.replace(/^\./, '');
          try {
            this.decode(name, this.encode(name, {}));
          } catch {
            // a type that has no empty form: made on its first use
          }
        }
        if (o instanceof protobuf.Namespace) walk(o);
      }
    };
    walk(this.root);
  }

  /** An Any holding a message of ours (events: the type's full name is the URL, as containerd's typeurl registers them). */
  any(type: string, obj: Record<string, unknown>): AnyMessage {
    return { type_url: type, value: this.encode(type, obj) };
  }
}

/** A google.protobuf.Timestamp of a moment. */
export function timestamp(d: Date = new Date()): { seconds: number; nanos: number } {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
