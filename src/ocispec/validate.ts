import { join } from 'path';
import { requireCached } from '../util/code-cache';
import { koffiLoaded, mapFile } from '../sys/koffi-load';

export interface SchemaError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}
type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };
interface Validators {
  validateConfig: Validator;
  validateState: Validator;
}

let validators: Validators | undefined;

function load(): Validators {
  // Generated at build time by scripts/build-validators.js (ajv standalone): no schema compiling
  // at run time. From the bundle (dist/tsrunc.js), dist/ocispec or (under ts-jest) src/ocispec alike; through its
  // code cache (made at build time with a validation of the default config and a state). Both
  // mapped where koffi is loaded already (create, run and exec: boot loaded it), as boot maps the bundle.
  const dist = __dirname.endsWith('dist') ? __dirname : join(__dirname, '..', '..', 'dist');
  validators ??= requireCached<Validators>(join(dist, 'validators.js'), require, dist, koffiLoaded() ? mapFile : undefined);
  return validators;
}

function describe(errors: SchemaError[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    let where = e.instancePath || '/';
    let detail = e.message ?? e.keyword;
    if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
      // the missing field is what to name: "/root: is required", not "/: must have ... 'root'"
      where = `${e.instancePath}/${e.params.missingProperty}`;
      detail = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
      detail += ` ("${e.params.additionalProperty}")`;
    } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
      detail += `: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return `${where}: ${detail}`;
  });
}

/** Returns the list of schema problems, each "<JSON pointer>: <problem>"; empty when valid. */
export function schemaProblems(kind: 'config' | 'state', data: unknown): string[] {
  const v = load();
  const fn = kind === 'config' ? v.validateConfig : v.validateState;
  return fn(data) ? [] : describe(fn.errors);
}
