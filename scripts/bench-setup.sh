#!/usr/bin/env bash
# CPU per IKE_SA+CHILD_SA setup and memory per SA of the ikelab responder, on loopback (not a test; no root).
#
#   scripts/bench-setup.sh                      # 3 interleaved runs x {none, userspace}, 1,000/5,000/10,000 held
#   scripts/bench-setup.sh --help               # all options (scripts/bench-setup.ts)
#
# It compiles scripts/bench-setup.ts (and the src/ it imports) with tsc into a temporary directory, runs it there
# and deletes the directory again, also on Ctrl-C. See scripts/README.md for what each figure means.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/ikelab-bench-setup.XXXXXX")"
child=""
cleanup() {
  # only the node process this script started; it stops its responder child itself
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf -- "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$REPO/node_modules/.bin/tsc" --outDir "$OUT" --rootDir "$REPO" --module nodenext --moduleResolution nodenext \
  --target es2022 --strict --skipLibCheck --types node scripts/bench-setup.ts ||
  echo "bench-setup: tsc reported type errors (above); running what it emitted" >&2
[ -f "$OUT/scripts/bench-setup.js" ] || exit 1
ln -s "$REPO/node_modules" "$OUT/node_modules"
echo '{"type":"module"}' > "$OUT/package.json"

node "$OUT/scripts/bench-setup.js" "$@" &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
