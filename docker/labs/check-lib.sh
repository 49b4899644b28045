# Helpers for docker/labs/*/check.sh, sourced by scripts/lab.sh with LAB_NAME, LAB_DIR and LAB_PROJECT set.
# A check prints what it found as `EVIDENCE <who>: <line>` (the lines an engineer would look for) and exits non-zero
# with `MISSING <who>: <what>` when something is not there.
# shellcheck shell=bash
set -euo pipefail

dc() { docker-compose --ansi never -p "$LAB_PROJECT" -f "$LAB_DIR/docker-compose.yml" "$@"; }

# (the helpers below use the docker CLI directly: one docker-compose call costs about a second of Python start-up)

# container id of a service
cid() {
  local id
  id="$(docker ps -q --filter "label=com.docker.compose.project=$LAB_PROJECT" --filter "label=com.docker.compose.service=$1")"
  [ -n "$id" ] || {
    echo "MISSING $1: no container" >&2
    return 1
  }
  echo "$id"
}

# a service's log (stdout + stderr), without compose's prefixes
svc_log() { docker logs "$(cid "$1")" 2>&1; }

# run a command in a service
in_svc() {
  local s=$1
  shift
  docker exec -i "$(cid "$s")" "$@"
}

# the ikelab CLI in the ikelab service (or $IKELAB_SERVICE)
ikelab() { in_svc "${IKELAB_SERVICE:-ikelab}" ikelab "$@" --config /etc/ikelab/ikelab.yaml; }

evidence() { # evidence WHO LINE...
  local who=$1
  shift
  local l
  for l in "$@"; do printf 'EVIDENCE %s: %s\n' "$who" "$l"; done
}

missing() {
  printf 'MISSING %s: %s\n' "$1" "$2"
  return 1
}

# wait_log SERVICE ERE SECONDS: until the service's log has a line matching ERE; prints the first such line
wait_log() {
  local svc=$1 re=$2 limit=$3 i line
  for ((i = 0; i < limit * 2; i++)); do
    line="$(svc_log "$svc" | grep -E -m1 -- "$re" || true)"
    if [ -n "$line" ]; then
      echo "$line"
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# expect_log SERVICE WHO ERE [SECONDS]: wait for a log line and print it as evidence, or fail
expect_log() {
  local svc=$1 who=$2 re=$3 limit=${4:-30} line
  if line="$(wait_log "$svc" "$re" "$limit")"; then
    evidence "$who" "$line"
  else
    missing "$who" "no log line matching /$re/ within ${limit} s"
  fi
}

# ping from the strongSwan service through the tunnel: sw_ping SRC DST [COUNT]; prints the summary as evidence
sw_ping() {
  local src=$1 dst=$2 count=${3:-3} out
  out="$(in_svc "${STRONGSWAN_SERVICE:-strongswan}" ping -n -c "$count" -W 2 -I "$src" "$dst" 2>&1 || true)"
  local summary
  summary="$(grep -E 'packets transmitted' <<<"$out" || true)"
  if grep -qE " 0 received|100% packet loss" <<<"$summary" || [ -z "$summary" ]; then
    printf '%s\n' "$out" >&2
    missing strongswan "ping -I $src $dst through the tunnel: ${summary:-no answer}"
    return 1
  fi
  evidence strongswan "ping -I $src $dst: $summary"
}

# ping from ikelab's virtual host through the tunnel: ik_ping CHILD SRC DST [COUNT]
ik_ping() {
  local child=$1 src=$2 dst=$3 count=${4:-3} out
  out="$(ikelab ping --child "$child" --src "$src" --dst "$dst" --count "$count" 2>&1 || true)"
  local summary
  summary="$(grep -iE 'transmitted|received' <<<"$out" | tail -n1 || true)"
  if [ -z "$summary" ] || grep -qE '(^| )0 (packets )?received|100(\.0)?% (packet )?loss' <<<"$summary"; then
    printf '%s\n' "$out" >&2
    missing ikelab "ikelab ping --src $src --dst $dst through the tunnel: ${summary:-no answer}"
    return 1
  fi
  evidence ikelab "ikelab ping --src $src --dst $dst: $summary"
}

# wait_healthy SERVICE SECONDS: until docker reports the service's container healthy
wait_healthy() {
  local s=$1 limit=${2:-30} i st=""
  for ((i = 0; i < limit * 2; i++)); do
    st="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(cid "$s")")"
    [ "$st" = healthy ] && {
      evidence "$s" "container healthy"
      return 0
    }
    sleep 0.5
  done
  missing "$s" "container not healthy within ${limit} s (last: $st)"
}

# expect_after SERVICE WHO ANCHOR_ERE ERE: the first line matching ERE at or after the first line matching
# ANCHOR_ERE in the service's log, as evidence (the log is already there: no waiting)
expect_after() {
  local svc=$1 who=$2 anchor=$3 re=$4 line
  # (the patterns go through the environment: awk -v would eat their backslashes)
  line="$(svc_log "$svc" | A="$anchor" R="$re" awk 'seen || $0 ~ ENVIRON["A"] { seen = 1; if ($0 ~ ENVIRON["R"]) { print; exit } }')"
  if [ -n "$line" ]; then evidence "$who" "$line"; else missing "$who" "no log line matching /$re/ after /$anchor/"; fi
}
