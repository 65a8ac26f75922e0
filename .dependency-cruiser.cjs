// The architecture as rules (npm run deps, run by npm run lint): what may import what.
// Type-only imports count too (tsPreCompilationDeps).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no module reaches itself', from: {}, to: { circular: true } },
    {
      name: 'model-is-a-leaf',
      severity: 'error',
      comment: 'the OCI types and the internal config import nothing but each other',
      from: { path: '^src/ocispec/(oci|config)\\.ts$' },
      to: { pathNot: '^src/ocispec/(oci|config)\\.ts$' },
    },
    {
      name: 'ocispec-below-the-layers',
      severity: 'error',
      comment: 'ocispec/ (the model, the default spec, schema validation) is read by every layer: it imports only sys/ and util/',
      from: { path: '^src/ocispec/' },
      to: { path: '^src/', pathNot: ['^src/ocispec/', '^src/sys/', '^src/util/'] },
    },
    {
      name: 'libc-layer-stands-alone',
      severity: 'error',
      comment: 'sys/ (the libc binding) is the bottom: it imports nothing of the runtime above it',
      from: { path: '^src/sys/' },
      to: { path: '^src/', pathNot: ['^src/sys/', '^src/util/'] },
    },
    {
      name: 'cli-only-from-main',
      severity: 'error',
      comment: 'the CLI adapters are the top: only the entry points (of the full and the light bundle) load them',
      from: { pathNot: ['^src/main(-light)?\\.ts$', '^src/cli/'] },
      to: { path: '^src/cli/' },
    },
    {
      name: 'api-from-its-users',
      severity: 'error',
      comment: 'the library API is used by the CLI, the shim and the package entry, not by what it is made of',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/api/', '^src/shim/', '^src/index\\.ts$'] },
      to: { path: '^src/api/' },
    },
    {
      name: 'shim-is-a-top',
      severity: 'error',
      comment: 'the containerd shim is a client of the library API, as the CLI is: nothing else imports it',
      from: { pathNot: '^src/shim/' },
      to: { path: '^src/shim/' },
    },
    {
      name: 'operations-from-above',
      severity: 'error',
      comment: 'container/ (the operations) is made of the layers below; none of them imports it',
      from: { path: '^src/(process|rootfs|namespaces|cgroups|security|hooks|ocispec|loader|state|sys|util)/' },
      to: { path: '^src/container/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
