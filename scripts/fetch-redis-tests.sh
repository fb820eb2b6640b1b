#!/usr/bin/env bash
# Fetches the Redis 7.0.15 source tree (for its Tcl test suite, BSD-licensed)
# from Debian's source package into a cache OUTSIDE the repository, once per
# machine. Prints the directory (the one holding ./runtest) on its last line.
#
#   scripts/fetch-redis-tests.sh            fetch if missing, print the dir
#   scripts/fetch-redis-tests.sh --check    print the dir if cached, else exit 1
#
# Environment:
#   REDIS_TESTS_DIR   where the tree lives (default $XDG_CACHE_HOME or
#                     $HOME/.cache, then redraft/redis-7.0.15)
#
# Fetching needs root (or sudo): it enables deb-src for apt's Debian entries
# (idempotently), runs apt-get update and `apt-get source --download-only
# redis`. Nothing of the Redis source is ever written inside the repository.
set -euo pipefail

REDIS_VERSION=7.0.15
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/redraft"
DIR="${REDIS_TESTS_DIR:-$CACHE_ROOT/redis-$REDIS_VERSION}"

log() { echo "fetch-redis-tests: $*" >&2; }

cached() { [[ -x "$DIR/runtest" && -f "$DIR/tests/test_helper.tcl" && -f "$DIR/.redraft-complete" ]]; }

if [[ "${1:-}" == "--check" ]]; then
  if cached; then echo "$DIR"; exit 0; fi
  exit 1
fi
if cached; then echo "$DIR"; exit 0; fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    log "need root (or sudo) to enable deb-src and run apt-get; or put the tree at $DIR yourself"
    exit 1
  fi
fi

mkdir -p "$(dirname "$DIR")"
# One fetch at a time per machine (parallel test files may both ask).
exec 9>"$(dirname "$DIR")/.fetch-redis-$REDIS_VERSION.lock"
flock 9
if cached; then echo "$DIR"; exit 0; fi

# --- enable deb-src for the Debian entries (deb822 format), idempotently ---
enable_deb_src() {
  local f=/etc/apt/sources.list.d/debian.sources changed=0
  if [[ -f "$f" ]]; then
    # Per stanza: if its Suites name bookworm or bookworm-security and its
    # Types line is exactly "deb", make it "deb deb-src".
    local tmp
    tmp=$(mktemp)
    awk '
      function flush() {
        if (n == 0) return
        want = 0
        for (i = 1; i <= n; i++) if (lines[i] ~ /^Suites:.*[[:space:]]bookworm(-security)?([[:space:]]|$)/) want = 1
        for (i = 1; i <= n; i++) {
          if (want && lines[i] ~ /^Types:[[:space:]]*deb[[:space:]]*$/) lines[i] = "Types: deb deb-src"
          print lines[i]
        }
        n = 0
      }
      /^[[:space:]]*$/ { flush(); print; next }
      { lines[++n] = $0 }
      END { flush() }
    ' "$f" >"$tmp"
    if ! cmp -s "$f" "$tmp"; then
      "${SUDO[@]}" cp "$tmp" "$f"
      changed=1
      log "enabled deb-src in $f"
    fi
    rm -f "$tmp"
  elif [[ -f /etc/apt/sources.list ]] && ! grep -qE '^deb-src .*debian' /etc/apt/sources.list; then
    # Classic one-line format: add a deb-src line for each Debian deb line.
    local extra
    extra=$(grep -E '^deb [^#]*debian(-security)?[/ ].*bookworm' /etc/apt/sources.list | sed 's/^deb /deb-src /' || true)
    if [[ -n "$extra" ]]; then
      printf '%s\n' "$extra" | "${SUDO[@]}" tee -a /etc/apt/sources.list >/dev/null
      changed=1
      log "added deb-src lines to /etc/apt/sources.list"
    fi
  fi
  echo "$changed"
}

have_source_index() { apt-cache showsrc redis 2>/dev/null | grep -q "^Version: .*$REDIS_VERSION"; }

changed=$(enable_deb_src)
if [[ "$changed" == 1 ]] || ! have_source_index; then
  log "apt-get update"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
fi

work=$(mktemp -d "$(dirname "$DIR")/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "apt-get source --download-only redis (into $work)"
# apt warns when run as root that it cannot drop privileges to _apt for a
# directory it does not own; the download still works.
( cd "$work" && chmod 755 . && apt-get source --download-only -qq redis >&2 )
orig="$work/redis_$REDIS_VERSION.orig.tar.gz"
if [[ ! -f "$orig" ]]; then
  log "expected $orig; got: $(ls "$work")"
  exit 1
fi
mkdir "$work/x"
tar -xzf "$orig" -C "$work/x"
src=$(find "$work/x" -mindepth 1 -maxdepth 1 -type d | head -n1)
if [[ ! -x "$src/runtest" ]]; then
  log "no runtest in $orig"
  exit 1
fi
touch "$src/.redraft-complete"
rm -rf "$DIR"
mv "$src" "$DIR"
log "Redis $REDIS_VERSION source ready in $DIR"
echo "$DIR"
