#!/usr/bin/env bash
# ESP throughput benchmark (not a test): ikelab's ESP engine alone, a strongSwan<->strongSwan tunnel (run A) and a
# strongSwan<->ikelab tunnel (run B), per transform, in one run on this machine; prints Mbit/s, packets/s and B/A.
#
#   sudo scripts/bench-tunnel.sh                                  # default transforms, 1400-byte packets (~1.5-2 min)
#   sudo scripts/bench-tunnel.sh aes256gcm16 chacha20poly1305     # only these
#   sudo scripts/bench-tunnel.sh --size 512 --duration 3 --window 32 aes128-sha1
#   scripts/bench-tunnel.sh --help                                # all options
#
# Needs: root, ip netns, /dev/net/tun, strongSwan with kernel-libipsec (see /work/shared/reference/LAB.md),
# and a built ikelab (`npm run build` -> dist/cli.js). See scripts/README.md for what each column measures.
#
# It compiles scripts/bench-tunnel.ts (+ bench-esp.ts, test/helpers/lab.ts, scenario.ts) with tsc into a
# temporary directory, runs it, and deletes that directory again. The lab (two network namespaces joined by a
# veth pair, nothing in the root namespace) is created and deleted by test/helpers/lab.ts; Ctrl-C cleans up too.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then need_root=0; fi
done
if [ "${need_root:-1}" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "bench-tunnel: needs root (network namespaces); try: sudo $0 $*" >&2
  exit 1
fi
if [ ! -f dist/cli.js ]; then
  echo "bench-tunnel: dist/cli.js missing; run 'npm run build' first" >&2
  exit 1
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/ikelab-bench-tunnel.XXXXXX")"
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
  --target es2022 --strict --skipLibCheck --types node scripts/bench-tunnel.ts scripts/bench-esp.ts
# compiled code lives outside the repo: tell it where the repo, the CLI and the node_modules are
ln -s "$REPO/node_modules" "$OUT/node_modules"
echo '{"type":"module"}' > "$OUT/package.json"

IKELAB_REPO="$REPO" IKELAB_CLI_PATH="$REPO/dist/cli.js" node "$OUT/scripts/bench-tunnel.js" "$@" &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
