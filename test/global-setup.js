'use strict';
const { snapshot } = require('../scripts/exe-binds');

module.exports = async () => {
  globalThis.__tsruncExeBefore = snapshot();
};
