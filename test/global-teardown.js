'use strict';
const { restore } = require('../scripts/exe-binds');

module.exports = async () => {
  restore(globalThis.__tsruncExeBefore ?? { binds: [], dir: true });
};
