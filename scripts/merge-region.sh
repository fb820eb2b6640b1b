#!/usr/bin/env bash
# Thin wrapper: redraft ctl merge-region (see --help). Meta admin address: --meta host:port (default 127.0.0.1:7000).
exec node "$(dirname "$0")/../bin/redraft.js" ctl merge-region "$@"
