#!/usr/bin/env bash
# Shared runner of the TypeScript benchmarks: compile scripts/bench-NAME.ts (and what it imports, plus any extra
# sources) with tsc into a temporary directory, run it as root inside that directory, and delete it afterwards,
# also on Ctrl-C. Called by bench-tunnel.sh and bench-scale.sh: bench-run.sh NAME "EXTRA SOURCES" [args...]
set -euo pipefail
NAME="$1"; shift
read -r -a EXTRA <<< "$1"; shift
SOURCES=("scripts/bench-$NAME.ts" "${EXTRA[@]}")

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then need_root=0; fi
done
if [ "${need_root:-1}" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "bench-$NAME: needs root (network namespaces); try: sudo scripts/bench-$NAME.sh $*" >&2
  exit 1
fi
if [ ! -f dist/cli.js ]; then
  echo "bench-$NAME: dist/cli.js missing; run 'npm run build' first" >&2
  exit 1
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/ikelab-bench-$NAME.XXXXXX")"
child=""
cleanup() {
  # only the node process this script started; it cleans up its lab itself on SIGTERM
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  rm -rf -- "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$REPO/node_modules/.bin/tsc" --outDir "$OUT" --rootDir "$REPO" --module nodenext --moduleResolution nodenext \
  --target es2022 --strict --skipLibCheck --types node "${SOURCES[@]}"
# compiled code lives outside the repo: tell it where the repo, the CLI and the node_modules are
ln -s "$REPO/node_modules" "$OUT/node_modules"
echo '{"type":"module"}' > "$OUT/package.json"

IKELAB_REPO="$REPO" IKELAB_CLI_PATH="$REPO/dist/cli.js" node "$OUT/scripts/bench-$NAME.js" "$@" &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
