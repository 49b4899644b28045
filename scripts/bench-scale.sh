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
# Needs: root, ip netns, /dev/net/tun, strongSwan with kernel-libipsec (see test/fixtures/LAB.md),
# and a built ikelab (`npm run build` -> dist/cli.js). See scripts/README.md for what each row measures.
#
# It compiles scripts/bench-scale.ts (+ test/helpers/lab.ts) with tsc into a temporary directory, runs it, and
# deletes that directory again. The lab (two network namespaces joined by a veth pair, nothing in the root
# namespace) is created and deleted by test/helpers/lab.ts; Ctrl-C cleans up too.

exec "$(dirname "${BASH_SOURCE[0]}")/bench-run.sh" scale "" "$@"
