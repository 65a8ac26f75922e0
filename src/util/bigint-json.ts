// Capability masks and rlimits are 64-bit: carried as tagged strings through JSON (the stored config).
export function encodeJson(b: unknown): string {
  return JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
      ? BigInt((v as { $bigint: string }).$bigint)
      : v,
  ) as T;
}
