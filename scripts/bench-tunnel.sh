#!/usr/bin/env bash
# ESP throughput benchmark (not a test): ikelab's ESP engine alone, a strongSwan<->strongSwan tunnel (run A) and a
# strongSwan<->ikelab tunnel (run B), per transform, in one run on this machine; prints Mbit/s, packets/s and B/A.
#
#   sudo scripts/bench-tunnel.sh                                  # default transforms, 1400-byte packets (~1.5-2 min)
#   sudo scripts/bench-tunnel.sh aes256gcm16 chacha20poly1305     # only these
#   sudo scripts/bench-tunnel.sh --size 512 --duration 3 --window 32 aes128-sha1
#   scripts/bench-tunnel.sh --help                                # all options
#
# Needs: root, ip netns, /dev/net/tun, strongSwan with kernel-libipsec (see test/fixtures/LAB.md),
# and a built ikelab (`npm run build` -> dist/cli.js). See scripts/README.md for what each column measures.
#
# It compiles scripts/bench-tunnel.ts (+ bench-esp.ts, test/helpers/lab.ts, scenario.ts) with tsc into a
# temporary directory, runs it, and deletes that directory again. The lab (two network namespaces joined by a
# veth pair, nothing in the root namespace) is created and deleted by test/helpers/lab.ts; Ctrl-C cleans up too.

exec "$(dirname "${BASH_SOURCE[0]}")/bench-run.sh" tunnel "scripts/bench-esp.ts" "$@"
