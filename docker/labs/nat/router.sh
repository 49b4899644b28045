#!/bin/sh
# NAT router between the private net (ikelab, 10.98.5.0/24) and the public net (strongSwan, 10.98.4.0/24).
set -eu
PRIVATE=10.98.5.0/24
# source NAT for everything leaving the private net: ikelab's IKE (500, then 4500) and ESP-in-UDP get this router's
# public address and, when a port is taken, another source port
iptables -t nat -A POSTROUTING -s "$PRIVATE" ! -d "$PRIVATE" -j MASQUERADE
# counting rules (no target: they only count) for the check: what crossed the NAT outbound
iptables -A FORWARD -s "$PRIVATE" -p udp --dport 500 -m comment --comment ike-500
iptables -A FORWARD -s "$PRIVATE" -p udp --dport 4500 -m length --length 29 -m comment --comment nat-t-keepalive
iptables -A FORWARD -s "$PRIVATE" -p udp --dport 4500 -m length ! --length 29 -m comment --comment ike-esp-4500
echo "router: MASQUERADE $PRIVATE"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
