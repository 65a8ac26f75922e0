// The runtime's read-only bind of node (/run/tsrunc-exe, src/process/protected-exe.ts) stays on a
// host until reboot by design; a test run takes away the ones it made.
'use strict';
const fs = require('fs');

function binds() {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith('/run/tsrunc-exe/'));
}

module.exports = async () => {
  globalThis.__tsruncBindsBefore = binds();
  globalThis.__tsruncExeDirBefore = fs.existsSync('/run/tsrunc-exe');
};
module.exports.binds = binds;
