// The OCI image archive builder (scripts/oci-archive.js, shared with the containerd benchmark), typed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const archive = require('../../scripts/oci-archive') as {
  /**
   * Writes an OCI image archive (oci-layout + index.json + blobs, as `ctr images import` reads it)
   * of a single uncompressed layer made from rootfs. No registry involved.
   */
  buildOciArchive: (rootfs: string, name: string, out: string, work: string) => void;
};

export const buildOciArchive = archive.buildOciArchive;
