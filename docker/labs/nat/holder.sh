#!/bin/sh
# Holds ikelab's network namespace (ikelab joins it with network_mode: service:ikelab-net) and routes it through
# the NAT router: ikelab itself keeps no capability, this container sets the route with NET_ADMIN.
set -eu
ip route replace default via 10.98.5.1
echo "ikelab-net: default via 10.98.5.1"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
