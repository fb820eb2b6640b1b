#!/usr/bin/env node
// The one entry point: `redraft playground|store|meta|ctl ...` (see --help).
require('../packages/store/dist/src/cli.js').main(process.argv.slice(2));
