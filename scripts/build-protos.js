#!/usr/bin/env node
// The shim's protobuf messages as one JSON descriptor (dist/shim/protos.json): the shim loads it
// with protobufjs's Root.fromJSON instead of parsing .proto files at start. Run by `npm run build` after tsc.
'use strict';
const fs = require('fs');
const path = require('path');
const { Proto } = require('../dist/shim/proto');

const dir = path.resolve(__dirname, '..', 'proto');
const files = [
  'github.com/containerd/containerd/api/runtime/task/v2/shim.proto',
  'github.com/containerd/containerd/api/events/task.proto',
  'github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto',
  'github.com/containerd/containerd/api/types/runc/options/oci.proto',
  'github.com/containerd/ttrpc/request.proto',
  'github.com/containerd/cgroups/stats/v1/metrics.proto',
  'github.com/containerd/cgroups/v2/stats/metrics.proto',
].map((f) => path.join(dir, f));
const out = path.resolve(__dirname, '..', 'dist', 'shim', 'protos.json');
fs.writeFileSync(out, JSON.stringify(Proto.fromFiles(dir, files).toJSON()));
