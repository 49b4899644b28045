# check of the load lab (sourced by scripts/lab.sh after docker/labs/check-lib.sh)
# N ikelab containers (however many `scale` / --scale made), each expected to bring up its IKELAB_LOAD_COUNT
mapfile -t ids < <(docker ps -q --filter "label=com.docker.compose.project=$LAB_PROJECT" --filter "label=com.docker.compose.service=ikelab")
n=${#ids[@]}
[ "$n" -ge 1 ] || missing ikelab "no ikelab container running"
expected=0
for id in "${ids[@]}"; do
  m="$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id" | sed -n 's/^IKELAB_LOAD_COUNT=//p')"
  expected=$((expected + ${m:-50}))
done
evidence ikelab "$n containers, $expected IKE_SAs expected in all"
first=${ids[0]}

# each container writes its summary once its run ended (the compose file limits a run to 60 s: IKELAB_LOAD_TIMEOUT)
got=0
for _ in $(seq 1 200); do
  got="$(docker exec "$first" sh -c 'ls /results/*.json 2>/dev/null | wc -l')"
  [ "$got" -ge "$n" ] && break
  sleep 0.5
done
[ "$got" -ge "$n" ] || missing ikelab "only $got of $n load summaries in the results volume after 100 s"

# the merged summary (ikelab load-merge, run in one of the containers: the volume is there)
rc=0
merged="$(docker exec "$first" sh -c 'ikelab load-merge /results/*.json')" || rc=$?
while IFS= read -r l; do evidence ikelab "load-merge: $l"; done <<<"$merged"
[ "$rc" = 0 ] || missing ikelab "load-merge exit $rc: not every IKE_SA of every run was established"
grep -qE "^$n load runs? of load: $expected of $expected established, 0 failed" <<<"$merged" ||
  missing ikelab "merged summary is not $expected of $expected established by $n runs"
json="$(docker exec "$first" sh -c 'ikelab load-merge --json /results/*.json')" || true
grep -q "\"established\":$expected," <<<"$json" || missing ikelab "load-merge --json does not say established $expected"

# strongSwan's own count: every SA of every container up at the same time
stats=""
for _ in $(seq 1 30); do
  stats="$(in_svc strongswan swanctl --stats | grep -E '^IKE_SAs:' || true)"
  grep -qE "^IKE_SAs: $expected total, 0 half-open" <<<"$stats" && break
  sleep 1
done
evidence strongswan "swanctl --stats: $stats"
grep -qE "^IKE_SAs: $expected total, 0 half-open" <<<"$stats" || missing strongswan "not $expected IKE_SAs"
sas="$(in_svc strongswan swanctl --list-sas)"
ike_up="$(grep -cE '^[^ ].*: #[0-9]+, ESTABLISHED, IKEv2' <<<"$sas" || true)"
child_up="$(grep -cE '^ +net: #[0-9]+, reqid [0-9]+, INSTALLED' <<<"$sas" || true)"
ids_seen="$(grep -oE "remote 'c[0-9]+\.[^']+@load\.lab'" <<<"$sas" | sort -u | wc -l)"
evidence strongswan "swanctl --list-sas: $ike_up IKE_SAs ESTABLISHED, $child_up CHILD_SAs INSTALLED, $ids_seen distinct remote identities"
[ "$ike_up" = "$expected" ] && [ "$child_up" = "$expected" ] && [ "$ids_seen" = "$expected" ] ||
  missing strongswan "expected $expected of each"
l="$(grep -m1 -oE "remote 'c[0-9]+\.[^']+@load\.lab' @ [0-9.]+\[[0-9]+\]" <<<"$sas" || true)"
evidence strongswan "e.g. $l"

# issue 14: one IKE_SA on the headend per SA of the runs (a second IKE_SA_INIT for one SA, e.g. a COOKIE restart
# after a retransmit, makes two) and no IKE_AUTH failing charon's integrity check
swlog="$(svc_log strongswan)"
inits="$(grep -c ' is initiating an IKE_SA' <<<"$swlog" || true)"
integ="$(grep -c 'integrity check failed' <<<"$swlog" || true)"
evidence strongswan "log: $inits IKE_SA_INITs accepted, $integ 'integrity check failed'"
[ "$inits" = "$expected" ] && [ "$integ" = 0 ] || missing strongswan "expected $expected IKE_SA_INITs and no integrity failure"

# the containers ran unprivileged, like the strongswan lab's
evidence ikelab "runs as uid $(docker exec "$first" id -u), CapEff=$(docker exec "$first" sh -c 'grep CapEff /proc/1/status' | awk '{print $2}')"
docker exec "$first" sh -c 'test "$(id -u)" != 0 && grep -q "CapEff:\s*0000000000000000" /proc/1/status' || missing ikelab "not running unprivileged"
