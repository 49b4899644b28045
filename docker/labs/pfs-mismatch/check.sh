# check of the pfs-mismatch lab (sourced by scripts/lab.sh after docker/labs/check-lib.sh)
# 1. the tunnel comes up: IKE_AUTH carries no KE, so the PFS group does not matter yet
expect_log strongswan strongswan 'IKE_SA ipsec1\[[0-9]+\] established between' 60
expect_log strongswan strongswan 'CHILD_SA ipsec1\{1\} established with SPIs' 20
expect_log ikelab ikelab 'CHILD_SA ipsec1\{1\} established with SPIs' 10
sw_ping 10.31.0.1 10.32.0.7 2
# 2. ikelab rekeys its CHILD_SA (rekey_time 20 s) without KE; vEdge B wants MODP_4096 and refuses
rekey='parsed CREATE_CHILD_SA request [0-9]+ \[ (N\(REKEY_SA\) )?SA No TSi TSr \]'
expect_log strongswan strongswan "$rekey" 45
sleep 0.5
expect_after strongswan strongswan "$rekey" 'received proposals: ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ'
expect_after strongswan strongswan "$rekey" 'configured proposals: ESP:AES_CBC_256/HMAC_SHA1_96/MODP_4096/NO_EXT_SEQ'
expect_after strongswan strongswan "$rekey" 'no acceptable proposal found'
expect_after strongswan strongswan "$rekey" 'failed to establish CHILD_SA, keeping IKE_SA'
expect_after strongswan strongswan "$rekey" 'generating CREATE_CHILD_SA response [0-9]+ \[ N\(NO_PROP\) \]'
expect_log ikelab ikelab 'received NO_PROPOSAL_CHOSEN notify' 10
expect_log ikelab ikelab 'failed to establish CHILD_SA, keeping IKE_SA' 5
# 3. the IKE_SA and the first CHILD_SA survive (until its hard lifetime), traffic still passes
line="$(in_svc strongswan swanctl --list-sas | grep -E 'ipsec1: #1, reqid [0-9]+, INSTALLED' | sed 's/^ *//' || true)"
if [ -n "$line" ]; then evidence strongswan "swanctl --list-sas: $line"; else missing strongswan "CHILD_SA ipsec1 #1 no longer INSTALLED"; fi
sw_ping 10.31.0.1 10.32.0.7 2
