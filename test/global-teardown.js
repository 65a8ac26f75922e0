'use strict';
const fs = require('fs');
const { spawnSync } = require('child_process');
const { binds } = require('./global-setup');

module.exports = async () => {
  const before = new Set(globalThis.__tsruncBindsBefore ?? []);
  for (const m of binds().reverse()) if (!before.has(m)) spawnSync('umount', ['-l', m]);
  if (!globalThis.__tsruncExeDirBefore && binds().length === 0) fs.rmSync('/run/tsrunc-exe', { recursive: true, force: true });
};
