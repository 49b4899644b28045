#!/usr/bin/env bash
# Responder benchmark under load (not a test): strongSwan's own load-tester plugin as a neutral initiator against
# four responders in one run: a) Debian's charon + kernel-libipsec, b) ikelab with the userspace backend, c) charon
# IKE only (the load-tester's fake kernel), d) ikelab with ipsec_backend: none. Plus ikelab's own
# `initiate --count --id-pattern` as a second load source against a and b. Prints CPU ms per setup, KiB per SA,
# idle RSS, burst completion and UDP drops, shutdown time, with ratios ikelab/charon; writes JSON + markdown.
#
#   sudo IKELAB_LOADTESTER_PREFIX=/opt/ss-lt scripts/bench-load.sh                       # 1,000 and 5,000 SAs
#   sudo IKELAB_LOADTESTER_PREFIX=/opt/ss-lt scripts/bench-load.sh --sizes 1000,5000,10000
#   sudo IKELAB_LOADTESTER_PREFIX=/opt/ss-lt scripts/bench-load.sh --runs 1 --responders a,b --burst 0
#   scripts/bench-load.sh --help
#
# The load-tester is not in Debian's packages and nothing of strongSwan is in this repository: build strongSwan
# 5.9.8 from its source OUTSIDE the repository into a prefix of its own (it must not replace the system's charon):
#
#   git clone https://github.com/strongswan/strongswan && cd strongswan && git checkout 5.9.8
#   apt-get install autoconf automake libtool bison flex gperf pkg-config libssl-dev libgmp-dev
#   ./autogen.sh
#   ./configure --prefix=/opt/ss-lt --sysconfdir=/opt/ss-lt/etc --enable-load-tester --enable-openssl \
#       --disable-gmp --disable-stroke --disable-ikev1 --disable-pki --disable-systemd
#   make -j2 && make install          # /opt/ss-lt/libexec/ipsec/charon, .../plugins/libstrongswan-load-tester.so
#
# (5.9.8 has no scepclient any more: configure warns about --disable-scepclient, so it is not listed. On a 2-core VM
# under load the build took ~45 min: autogen 1.5, configure 10, make -j2 32, make install 2.)
#
# then point IKELAB_LOADTESTER_PREFIX at that prefix. Without it the benchmark says so and exits 0 (skipped).
# Also needs: root, ip netns, taskset, /dev/net/tun, Debian's charon with kernel-libipsec (test/fixtures/LAB.md),
# a built ikelab (npm run build). Two namespaces of its own, removed at the end (Ctrl-C too); it signals only the
# PIDs it started. See scripts/README.md for what each column measures.
set -euo pipefail
for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then exec "$(dirname "${BASH_SOURCE[0]}")/bench-run.sh" load "" "$@"; fi
done
P="${IKELAB_LOADTESTER_PREFIX:-}"
if [ -z "$P" ]; then
  echo "bench-load: skipped: IKELAB_LOADTESTER_PREFIX is not set (build strongSwan 5.9.8 with --enable-load-tester into a prefix: see the header of $0)"
  exit 0
fi
for f in "$P/libexec/ipsec/charon" "$P/lib/ipsec/plugins/libstrongswan-load-tester.so" "$P/sbin/swanctl"; do
  if [ ! -e "$f" ]; then
    echo "bench-load: skipped: $f missing: IKELAB_LOADTESTER_PREFIX=$P is not a strongSwan install with the load-tester (see the header of $0)"
    exit 0
  fi
done
exec "$(dirname "${BASH_SOURCE[0]}")/bench-run.sh" load "" "$@"
