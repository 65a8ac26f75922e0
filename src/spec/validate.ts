import { join } from 'path';

export interface SchemaError { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }
type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };
interface Validators { validateConfig: Validator; validateState: Validator }

let validators: Validators | undefined;

function load(): Validators {
  // Generated at build time by scripts/build-validators.js (ajv standalone): no schema compiling at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  // From dist/spec or (under ts-jest) src/spec alike: dist/validators.js at the package root.
  // From the bundle (dist/tsrunc.js), dist/spec or (under ts-jest) src/spec alike.
  validators ??= require(__dirname.endsWith('dist') ? join(__dirname, 'validators.js') : join(__dirname, '..', '..', 'dist', 'validators.js')) as Validators;
  return validators;
}

function describe(errors: SchemaError[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    let detail = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
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
