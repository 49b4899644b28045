# check of the strongswan lab (sourced by scripts/lab.sh after docker/labs/check-lib.sh)
expect_log strongswan strongswan 'IKE_SA bar\[[0-9]+\] established between' 60
expect_log strongswan strongswan 'CHILD_SA net\{[0-9]+\} established with SPIs' 30
expect_log ikelab ikelab 'IKE_SA bar\[[0-9]+\] established between' 10
expect_log ikelab ikelab 'CHILD_SA net\{[0-9]+\} established with SPIs' 10
# strongSwan's side pings ikelab's virtual host; ikelab's virtual host pings strongSwan's inside address
sw_ping 10.11.0.1 10.12.0.7 3
ik_ping net 10.12.0.7 10.11.0.1 3
# ikelab bound 500/4500 as a non-root user without capabilities
evidence ikelab "runs as uid $(in_svc ikelab id -u), CapEff=$(in_svc ikelab sh -c 'grep CapEff /proc/1/status' | awk '{print $2}')"
in_svc ikelab sh -c 'test "$(id -u)" != 0 && grep -q "CapEff:\s*0000000000000000" /proc/1/status' || missing ikelab "not running unprivileged"
wait_healthy ikelab 30
