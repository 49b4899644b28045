#!/bin/sh
# strongSwan lab entrypoint: put the addresses of the protected subnet on lo (kernel-libipsec needs a local address
# inside local_ts), optionally route through a gateway, start charon, load /etc/swanctl, stay in the foreground.
#   LAB_INSIDE_ADDRS="10.11.0.1/32 ..."   LAB_DEFAULT_VIA=10.98.5.254 (e.g. a NAT router)
set -eu
rm -f /run/strongswan-lab.loaded /var/run/charon.pid
for a in ${LAB_INSIDE_ADDRS:-}; do ip addr add "$a" dev lo; done
if [ -n "${LAB_DEFAULT_VIA:-}" ]; then ip route replace default via "$LAB_DEFAULT_VIA"; fi
/usr/lib/ipsec/charon &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' TERM INT
i=0
until [ -S /var/run/charon.vici ]; do
  i=$((i + 1))
  [ $i -le 100 ] || { echo "strongswan-lab: no vici socket after 10 s" >&2; exit 1; }
  kill -0 $pid 2>/dev/null || { echo "strongswan-lab: charon exited" >&2; exit 1; }
  sleep 0.1
done
swanctl --load-all
wait $pid
