// The OCI image archive builder (scripts/oci-archive.js, shared with the containerd benchmark), typed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const archive = require('../../scripts/oci-archive') as {
  /**
   * Writes an OCI image layout in work (oci-layout + index.json + blobs) of a single uncompressed
   * layer made from rootfs, and, where out is given, its archive as `ctr images import` reads it.
   * No registry involved. cmd is the image's Cmd (default `sh`).
   */
  buildOciArchive: (rootfs: string, name: string, out: string | null, work: string, cmd?: string[]) => void;
};

export const buildOciArchive = archive.buildOciArchive;
