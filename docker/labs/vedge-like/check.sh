# check of the vedge-like lab (sourced by scripts/lab.sh after docker/labs/check-lib.sh)
expect_log strongswan vedge-a 'IKE_SA ipsec2\[[0-9]+\] established between' 60
expect_log strongswan vedge-a 'CHILD_SA ipsec2\{[0-9]+\} established with SPIs' 20
expect_log ikelab ikelab 'CHILD_SA ipsec2\{[0-9]+\} established with SPIs' 10
# vEdge A's settings as charon runs them
conns="$(in_svc strongswan swanctl --list-conns)"
sas="$(in_svc strongswan swanctl --list-sas)"
want() { # want WHO TEXT ERE: the first line of TEXT matching ERE, as evidence
  local l
  l="$(grep -E -m1 -- "$3" <<<"$2" | sed 's/^ *//' || true)"
  if [ -n "$l" ]; then evidence "$1" "$l"; else missing "$1" "no line matching /$3/"; fi
}
want vedge-a "$conns" '^ipsec2: IKEv2, .*rekeying every 86400s, dpd delay 30s'
want vedge-a "$conns" 'ipsec2: TUNNEL, rekeying every 3600s'
want vedge-a "$sas" 'AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048'
want vedge-a "$sas" 'ipsec2: #1, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256$'
# ESP PFS group 14: vEdge A rekeys the CHILD_SA now, with a KE payload, and ikelab agrees on MODP_2048
in_svc strongswan swanctl --rekey --child ipsec2 >/dev/null
expect_log strongswan vedge-a 'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]' 10
expect_log strongswan vedge-a 'CHILD_SA ipsec2\{2\} established with SPIs' 15
sleep 1
want vedge-a "$(in_svc strongswan swanctl --list-sas)" 'ipsec2: #2, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256/MODP_2048$'
# ikelab's view (IOS-like `show crypto ipsec sa`): replay window 512, PFS group 14 on the rekeyed CHILD_SA
isa="$(ikelab ipsec-sa)"
want ikelab "$isa" 'PFS \(Y/N\): Y, DH group: group14'
want ikelab "$isa" 'replay window size: 512'
sw_ping 10.21.0.1 10.22.0.7 3
ik_ping ipsec2 10.22.0.7 10.21.0.1 3
