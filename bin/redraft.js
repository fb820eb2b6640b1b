#!/usr/bin/env node
// The one entry point: `redraft playground|store|meta|ctl ...` (see --help).
require('../packages/cli/dist/src/main.js').main(process.argv.slice(2));
