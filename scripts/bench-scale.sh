#!/usr/bin/env bash
# IKE_SA scale benchmark (not a test): ikelab as load-test initiator brings up N IKE_SAs (+ one CHILD_SA each)
# against a strongSwan responder (run A) and against an ikelab responder (run B), in one run on this machine,
# then holds them with DPD firing; prints establish time, CPU and RSS per SA, idle CPU with DPD, timers, and B/A.
#
#   sudo scripts/bench-scale.sh                                 # 10000 SAs at 200/s, hold 30 s (~4 min)
#   sudo scripts/bench-scale.sh --count 2000 --rate 400 --hold 20
#   sudo scripts/bench-scale.sh --only B --count 20000 --rate 1000
#   scripts/bench-scale.sh --help                               # all options
#
# Needs: root, ip netns, /dev/net/tun, strongSwan with kernel-libipsec (see /work/shared/reference/LAB.md),
# and a built ikelab (`npm run build` -> dist/cli.js). See scripts/README.md for what each row measures.
#
# It compiles scripts/bench-scale.ts (+ test/helpers/lab.ts) with tsc into a temporary directory, runs it, and
# deletes that directory again. The lab (two network namespaces joined by a veth pair, nothing in the root
# namespace) is created and deleted by test/helpers/lab.ts; Ctrl-C cleans up too.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then need_root=0; fi
done
if [ "${need_root:-1}" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "bench-scale: needs root (network namespaces); try: sudo $0 $*" >&2
  exit 1
fi
if [ ! -f dist/cli.js ]; then
  echo "bench-scale: dist/cli.js missing; run 'npm run build' first" >&2
  exit 1
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/ikelab-bench-scale.XXXXXX")"
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
  --target es2022 --strict --skipLibCheck --types node scripts/bench-scale.ts
# compiled code lives outside the repo: tell it where the repo, the CLI and the node_modules are
ln -s "$REPO/node_modules" "$OUT/node_modules"
echo '{"type":"module"}' > "$OUT/package.json"

IKELAB_REPO="$REPO" IKELAB_CLI_PATH="$REPO/dist/cli.js" node "$OUT/scripts/bench-scale.js" "$@" &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
