// os.constants (errno and signal numbers), loaded when first asked for: loading Node's os module
// costs a command ~0.7 ms, and most commands never name an errno or a signal.
let loaded: typeof import('os').constants | undefined;

export function osConstants(): typeof import('os').constants {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= (require('os') as typeof import('os')).constants);
}
