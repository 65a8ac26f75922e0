// An OCI image archive made from a rootfs, as `ctr images import` reads it: for the containerd
// tests and benchmarks (no registry). Used by test/helpers/oci-image.ts and scripts/bench-containerd.js.
'use strict';
const { execFileSync } = require('child_process');
const { createHash } = require('crypto');
const fs = require('fs');
const { join } = require('path');

/** @returns {{ digest: string, size: number }} */
function blob(/** @type {string} */ dir, /** @type {Buffer} */ data) {
  const hex = createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(join(dir, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/**
 * Writes an OCI image layout in work (oci-layout + index.json + blobs) of a single uncompressed
 * layer made from rootfs, and, where out is given, its archive as `ctr images import` reads it.
 * No registry involved. cmd is the image's Cmd.
 */
function buildOciArchive(
  /** @type {string} */ rootfs,
  /** @type {string} */ name,
  /** @type {string | null} */ out,
  /** @type {string} */ work,
  /** @type {string[]} */ cmd = ['sh'],
) {
  fs.mkdirSync(join(work, 'blobs', 'sha256'), { recursive: true });
  const layerTar = join(work, 'layer.tar');
  execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layerTar, '.']);
  const layerData = fs.readFileSync(layerTar);
  const layer = blob(work, layerData);
  const config = blob(
    work,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = blob(
    work,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  fs.writeFileSync(
    join(work, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() },
        },
      ],
    }),
  );
  fs.writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.rmSync(layerTar);
  if (out) execFileSync('tar', ['-C', work, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
}

module.exports = { buildOciArchive };
