# check of the nat lab (sourced by scripts/lab.sh after docker/labs/check-lib.sh)
# NAT detection on both sides: ikelab finds its own address changed (it is behind the NAT), strongSwan finds the
# peer's changed; the initiator floats to 4500
expect_log ikelab ikelab 'local host is behind NAT, sending keep alives' 60
expect_log strongswan strongswan 'remote host is behind NAT' 10
expect_log strongswan strongswan 'received packet: from 10\.98\.4\.2\[[0-9]+\] to 10\.98\.4\.1\[500\]' 5
expect_log strongswan strongswan 'received packet: from 10\.98\.4\.2\[[0-9]+\] to 10\.98\.4\.1\[4500\]' 10
expect_log ikelab ikelab 'sending packet: from 10\.98\.5\.2\[4500\] to 10\.98\.4\.1\[4500\]' 10
expect_log strongswan strongswan 'IKE_SA branch\[[0-9]+\] established between 10\.98\.4\.1\[10\.98\.4\.1\]\.\.\.10\.98\.4\.2\[10\.98\.5\.2\]' 10
expect_log ikelab ikelab 'CHILD_SA net\{[0-9]+\} established with SPIs' 10
# strongSwan sees the peer at the router's public address (identity: ikelab's private address)
l="$(in_svc strongswan swanctl --list-sas | grep -E -m1 "remote '10\.98\.5\.2' @ 10\.98\.4\.2\[[0-9]+\]" | sed 's/^ *//' || true)"
if [ -n "$l" ]; then evidence strongswan "swanctl --list-sas: $l"; else missing strongswan "peer not seen at the NAT address"; fi
# traffic both ways through the tunnel (ESP-in-UDP through the NAT mapping)
sw_ping 10.41.0.1 10.42.0.7 3
ik_ping net 10.42.0.7 10.41.0.1 3
# NAT-T keepalives (1-byte UDP to 4500, 29-byte IP packets) crossed the router: counted by its iptables rule
ka=0
for _ in $(seq 1 30); do
  ka="$(in_svc router iptables -L FORWARD -v -x -n | awk '/nat-t-keepalive/{print $1; exit}')"
  [ "${ka:-0}" -gt 0 ] && break
  sleep 0.5
done
if [ "${ka:-0}" -gt 0 ]; then
  evidence router "NAT-T keepalives forwarded: $ka packet(s); $(in_svc router iptables -L FORWARD -v -x -n | awk '/ike-esp-4500/{print "IKE/ESP on 4500: " $1 " packet(s)"}')"
else
  missing router "no NAT-T keepalive crossed the NAT within 15 s"
fi
l="$(in_svc router iptables -t nat -L POSTROUTING -v -x -n | awk '/MASQUERADE/{print "MASQUERADE rule hit by " $1 " new connection(s)"}')"
evidence router "$l"
