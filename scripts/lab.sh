#!/usr/bin/env bash
# docker-compose labs: ikelab against a real strongSwan in containers (docker/labs/<name>/; README.md, "Docker labs").
#
#   scripts/lab.sh up NAME       build what is missing, start the lab (ikelab starts once strongSwan is healthy)
#   scripts/lab.sh check NAME    run the lab's check (docker/labs/NAME/check.sh) and print its evidence lines
#   scripts/lab.sh down NAME     remove the lab's containers, networks, volumes and lab-local images
#   scripts/lab.sh run NAME      up + check + down
#   scripts/lab.sh all           run every lab in sequence; exit status 1 if any check failed
#   scripts/lab.sh images        only build the base and shared images
#   scripts/lab.sh xfrm-image    build docker/Dockerfile's xfrm target, check `ip xfrm` and ikelab's start-up in it
#   scripts/lab.sh list          the lab names
#
# What it does beside docker-compose (1.29, the Python one: `docker-compose`, not `docker compose`):
# - starts dockerd when no engine answers (root only), records the PID it started and stops only that PID when the
#   command that started it ends (for a separate `up`, at the matching `down`), then restores the FORWARD policy
#   dockerd changed;
# - builds local stand-ins for debian:bookworm-slim (debootstrap from the host's apt mirror) and
#   node:20-bookworm-slim (that plus the host's node and npm) only when the images are missing and cannot be pulled;
# - builds the shared images (ikelab-lab/ikelab, ikelab-lab/strongswan) once per run; the labs reuse them;
# - tears everything down on exit, error or signal (trap): no container or network of a lab it started is left.
#
# Environment: IKELAB_LAB_TIMEOUT (seconds per check, default 150), IKELAB_LAB_STATE (state dir, default
# $TMPDIR/ikelab-lab), IKELAB_LAB_KEEP=1 (`run`: leave a failed lab up for inspection; `down NAME` removes it),
# IKELAB_LAB_NO_BUILD=1 (use the shared images as they are), IKELAB_LAB_KEEP_DOCKERD=1 (leave a dockerd started
# here running; the next `down NAME` that leaves no compose container stops it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LABS_DIR="$ROOT/docker/labs"
ALL_LABS=(strongswan vedge-like pfs-mismatch nat load)
STATE="${IKELAB_LAB_STATE:-${TMPDIR:-/tmp}/ikelab-lab}"
CHECK_TIMEOUT="${IKELAB_LAB_TIMEOUT:-150}"
IKELAB_IMAGE=ikelab-lab/ikelab:latest
STRONGSWAN_IMAGE=ikelab-lab/strongswan:latest
# the classic builder: docker-compose 1.29 uses it, and a newer docker CLI without buildx needs it
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

mkdir -p "$STATE"
DOCKERD_PID_FILE="$STATE/dockerd.pid"
FORWARD_POLICY_FILE="$STATE/forward-policy"
STARTED_DOCKERD=0   # this invocation started dockerd
KEEP_UP=0           # leave the labs of this invocation up (a later `down NAME` removes them)
KEEP_DOCKERD="${IKELAB_LAB_KEEP_DOCKERD:-0}" # leave the dockerd started here running (a later `down NAME` stops it)
ACTIVE_LABS=()      # labs this invocation brought up and has not taken down yet
SHARED_BUILT=0

log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 2
}
now() { date +%s; }

# Long steps run in the background and are waited for: bash runs a trap only once the foreground command is done,
# but interrupts `wait` at once, so Ctrl-C / SIGTERM tears the lab down right away. cleanup() stops these PIDs (and
# their children: processes this script started) if they are still running.
BG_PIDS=()
bg_wait() {
  "$@" &
  local pid=$! rc=0
  BG_PIDS+=("$pid")
  wait "$pid" || rc=$?
  local kept=() p
  for p in "${BG_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  BG_PIDS=("${kept[@]}")
  return "$rc"
}
stop_bg() {
  local p
  for p in "${BG_PIDS[@]}"; do
    pkill -TERM -P "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
  done
  BG_PIDS=()
}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

# ---------------------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------------------

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

ensure_dockerd() {
  command -v docker >/dev/null || die "docker CLI not found (apt-get install docker.io docker-compose)"
  command -v docker-compose >/dev/null || die "docker-compose not found (apt-get install docker-compose)"
  engine_up && return 0
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and only root can start one"
  command -v dockerd >/dev/null || die "no Docker engine answers and dockerd is not installed"
  # remember what dockerd changes on the host so stop_dockerd can put it back
  iptables -S FORWARD 2>/dev/null | awk '$1=="-P"{print $3; exit}' >"$FORWARD_POLICY_FILE" || true
  if ip link show docker0 >/dev/null 2>&1; then echo yes >"$STATE/docker0-existed"; else echo no >"$STATE/docker0-existed"; fi
  log "starting dockerd (log: $STATE/dockerd.log)"
  setsid dockerd >"$STATE/dockerd.log" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$DOCKERD_PID_FILE"
  STARTED_DOCKERD=1
  for _ in $(seq 1 120); do
    engine_up && {
      log "dockerd is up (pid $pid)"
      return 0
    }
    kill -0 "$pid" 2>/dev/null || {
      tail -20 "$STATE/dockerd.log" >&2
      die "dockerd exited"
    }
    sleep 0.5
  done
  die "dockerd did not answer within 60 s"
}

# Stops the dockerd recorded in the state file: only that PID, and only if it is still the dockerd we started.
stop_dockerd() {
  [ -f "$DOCKERD_PID_FILE" ] || return 0
  local pid
  pid="$(cat "$DOCKERD_PID_FILE")"
  rm -f "$DOCKERD_PID_FILE"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    log "stopping the dockerd this script started (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd $pid did not stop within 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  local policy
  policy="$(cat "$FORWARD_POLICY_FILE" 2>/dev/null || true)"
  if [ -n "$policy" ]; then iptables -P FORWARD "$policy" 2>/dev/null || true; fi
  rm -f "$FORWARD_POLICY_FILE"
  if [ "$(cat "$STATE/docker0-existed" 2>/dev/null)" = no ] && ip link show docker0 >/dev/null 2>&1; then
    ip link delete docker0 2>/dev/null || true
  fi
  rm -f "$STATE/docker0-existed"
}

# ---------------------------------------------------------------------------------------------------------------
# Base images: the real ones, or local stand-ins when they are missing and cannot be pulled
# ---------------------------------------------------------------------------------------------------------------

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
  log "pulling $1"
  timeout 60 docker pull -q "$1" >/dev/null 2>&1
}

host_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m="$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

build_debian_standin() {
  command -v debootstrap >/dev/null || die "debian:bookworm-slim is missing, cannot be pulled, and debootstrap is not installed"
  local root mirror t0
  t0=$(now)
  root="$(mktemp -d "$STATE/rootfs.XXXXXX")"
  mirror="$(host_mirror)"
  log "building a stand-in debian:bookworm-slim with debootstrap from $mirror (about a minute)"
  if ! bg_wait debootstrap --variant=minbase bookworm "$root" "$mirror" >"$STATE/debootstrap.log" 2>&1; then
    tail -20 "$STATE/debootstrap.log" >&2
    rm -rf "$root"
    die "debootstrap failed"
  fi
  # the host's apt sources and settings: its mirror may need them
  rm -f "$root/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
  cp -a /etc/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  if ! tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null; then
    rm -rf "$root"
    die "docker import of the debootstrap tree failed"
  fi
  rm -rf "$root"
  log "debian:bookworm-slim stand-in built in $(($(now) - t0)) s"
}

build_node_standin() {
  local node npm_dir ctx t0
  t0=$(now)
  node="$(readlink -f "$(command -v node)")" || die "node:20-bookworm-slim is missing, cannot be pulled, and the host has no node"
  "$node" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || die "the host's node is older than 20"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "cannot find the host's npm"
  ctx="$(mktemp -d "$STATE/node-ctx.XXXXXX")"
  cp "$node" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  local ca_lines=""
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    cp "$NODE_EXTRA_CA_CERTS" "$ctx/extra-ca.crt"
    ca_lines=$'COPY extra-ca.crt /usr/local/share/ikelab-extra-ca.crt\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/ikelab-extra-ca.crt'
  fi
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
$ca_lines
CMD ["node"]
EOF
  log "building a stand-in node:20-bookworm-slim from the host's node $("$node" --version)"
  if ! bg_wait docker build --force-rm -t node:20-bookworm-slim "$ctx" >"$STATE/build-node.log" 2>&1; then
    tail -20 "$STATE/build-node.log" >&2
    rm -rf "$ctx"
    die "building the node:20-bookworm-slim stand-in failed"
  fi
  rm -rf "$ctx"
  log "node:20-bookworm-slim stand-in built in $(($(now) - t0)) s"
}

ensure_base_images() {
  if ! have_image debian:bookworm-slim && ! try_pull debian:bookworm-slim; then build_debian_standin; fi
  if ! have_image node:20-bookworm-slim && ! try_pull node:20-bookworm-slim; then build_node_standin; fi
}

# ---------------------------------------------------------------------------------------------------------------
# Shared images: built once per run, reused by every lab (compose files name them with `image:`)
# ---------------------------------------------------------------------------------------------------------------

# Images our builds left behind: replaced lab images (dangling, label org.ikelab.lab=1) and the classic builder's
# untagged build stages (label org.ikelab.stage=build), all but the newest of those, which is the next build's cache.
prune_images() {
  docker image prune -f --filter label=org.ikelab.lab=1 >/dev/null 2>&1 || true
  local old
  old=$(docker images -q --filter dangling=true --filter label=org.ikelab.stage=build 2>/dev/null | tail -n +2)
  [ -z "$old" ] || docker rmi $old >/dev/null 2>&1 || true
}

build_shared_images() {
  [ "$SHARED_BUILT" = 1 ] && return 0
  ensure_base_images
  if [ "${IKELAB_LAB_NO_BUILD:-}" = 1 ] && have_image "$IKELAB_IMAGE" && have_image "$STRONGSWAN_IMAGE"; then
    SHARED_BUILT=1
    return 0
  fi
  local t0 pid_s rc=0
  t0=$(now)
  log "building $STRONGSWAN_IMAGE and $IKELAB_IMAGE (logs: $STATE/build-*.log)"
  # the two builds overlap: one mostly downloads packages, the other mostly compiles
  docker build --force-rm -t "$STRONGSWAN_IMAGE" "$ROOT/docker/strongswan" >"$STATE/build-strongswan.log" 2>&1 &
  pid_s=$!
  BG_PIDS+=("$pid_s")
  # --target runtime: the classic builder would also build the xfrm stage (apt-get) for nothing
  bg_wait docker build --force-rm --target runtime -t "$IKELAB_IMAGE" -f "$ROOT/docker/Dockerfile" "$ROOT" \
    >"$STATE/build-ikelab.log" 2>&1 || {
    tail -30 "$STATE/build-ikelab.log" >&2
    rc=1
  }
  wait "$pid_s" || {
    tail -30 "$STATE/build-strongswan.log" >&2
    rc=1
  }
  [ "$rc" = 0 ] || die "image build failed"
  prune_images
  log "shared images built in $(($(now) - t0)) s"
  SHARED_BUILT=1
}

# ---------------------------------------------------------------------------------------------------------------
# The xfrm image (docker/Dockerfile --target xfrm): what daemon.ipsec_backend: xfrm needs is in it and works
# ---------------------------------------------------------------------------------------------------------------

XFRM_IMAGE=ikelab-lab/ikelab-xfrm:latest
XFRM_LABEL="org.ikelab.xfrm-check=$$" # the check's containers, removed by cleanup() if a signal cuts a run short
XFRM_RAN=0

# xrun ARGS...: a throw-away container of the check (docker run --rm, labelled), its output on stdout
xrun() { docker run --rm -i --label "$XFRM_LABEL" --network none "$@" 2>&1; }

# a config for ikelab start with the xfrm backend: one connection that never starts (nothing to talk to here)
xfrm_config() {
  cat <<'YAML'
daemon:
  listen: [0.0.0.0]
  control_socket: /run/ikelab/ikelab.sock
  ipsec_backend: xfrm
  log: { stdout: yes, levels: { default: 1, net: 2 } }
connections:
  check:
    remote_addrs: [192.0.2.1]
    local: { auth: psk, id: check@ikelab.lab }
    remote: { auth: psk, id: 192.0.2.1 }
    children: { net: { local_ts: [10.12.0.0/24], remote_ts: [10.11.0.0/24], start_action: none } }
secrets:
  ike-check: { id: [192.0.2.1], secret: xfrm-image-check-only }
YAML
}

# prints `EVIDENCE xfrm-image|runtime-image: ...` / `MISSING ...` lines and `CHECK xfrm-image PASS|FAIL (N s)`
xfrm_image_check() {
  local t0 out left rc=0 fail=0
  t0=$(now)
  XFRM_RAN=1
  ensure_dockerd
  ensure_base_images
  log "building $XFRM_IMAGE and $IKELAB_IMAGE (docker/Dockerfile --target xfrm / runtime; log: $STATE/build-xfrm.log)"
  # the runtime target first: its layers are the xfrm target's too, so the second build only adds the xfrm stage
  if [ "${IKELAB_LAB_NO_BUILD:-}" = 1 ] && have_image "$IKELAB_IMAGE" && have_image "$XFRM_IMAGE"; then
    log "IKELAB_LAB_NO_BUILD=1: the images as they are"
  elif ! bg_wait docker build --force-rm --target runtime -t "$IKELAB_IMAGE" -f "$ROOT/docker/Dockerfile" "$ROOT" \
    >"$STATE/build-xfrm.log" 2>&1 ||
    ! bg_wait docker build --force-rm --target xfrm -t "$XFRM_IMAGE" -f "$ROOT/docker/Dockerfile" "$ROOT" \
      >>"$STATE/build-xfrm.log" 2>&1; then
    tail -30 "$STATE/build-xfrm.log" >&2
    echo "CHECK xfrm-image FAIL (image build failed after $(($(now) - t0)) s)"
    return 1
  fi
  prune_images
  log "images ready in $(($(now) - t0)) s"
  ev() { printf 'EVIDENCE %s: %s\n' "$1" "$2"; }
  miss() {
    printf 'MISSING %s: %s\n' "$1" "$2"
    fail=1
  }

  # the default image stays as it was: non-root, no iproute2
  out="$(xrun --entrypoint sh "$IKELAB_IMAGE" -c 'echo "uid $(id -u), ip: $(command -v ip || echo none)"')" || true
  ev runtime-image "$out"
  [ "$out" = "uid 10001, ip: none" ] || miss runtime-image "the default target is not the unprivileged image without ip"

  # the xfrm image with NET_ADMIN: ip and perl there, the kernel's xfrm netlink answers
  out="$(xrun --cap-drop ALL --cap-add NET_ADMIN --entrypoint sh "$XFRM_IMAGE" -c \
    'echo "uid $(id -u)"; ip -V && ip xfrm state && ip xfrm state count && echo "ip xfrm state: exit 0" &&
     perl -e "print qq(perl \$^V\n)"')" || rc=$?
  while read -r l; do [ -z "$l" ] || ev xfrm-image "$l"; done <<<"$out" # read without IFS= drops ip's tab
  [ "$rc" = 0 ] && grep -q '^ip xfrm state: exit 0$' <<<"$out" && grep -q '^uid 0$' <<<"$out" ||
    miss xfrm-image "ip xfrm state with NET_ADMIN (exit $rc)"
  # ... and without it the kernel refuses: the capability is what makes it work
  rc=0
  out="$(xrun --cap-drop NET_ADMIN --entrypoint ip "$XFRM_IMAGE" xfrm state)" || rc=$?
  ev xfrm-image "without NET_ADMIN: ip xfrm state: exit $rc: $(printf '%s' "${out:-no output}" | tr '\n' ' ')"
  [ "$rc" != 0 ] || miss xfrm-image "ip xfrm state succeeded without NET_ADMIN"

  # ikelab start with ipsec_backend: xfrm passes its start-up checks, sets UDP_ENCAP and the IKE bypass policies
  # (both through perl) on its sockets, and stops on SIGTERM
  rc=0
  out="$(xfrm_config | xrun --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_BIND_SERVICE --entrypoint sh "$XFRM_IMAGE" -c '
    umask 077
    cat >/tmp/xfrm.yaml
    ikelab start --config /tmp/xfrm.yaml >/tmp/daemon.log 2>&1 &
    pid=$!
    i=0
    until grep -q "control socket /run/ikelab/ikelab.sock" /tmp/daemon.log || [ $i -ge 300 ]; do
      kill -0 $pid 2>/dev/null || break
      i=$((i + 1))
      sleep 0.1
    done
    echo "up after about $((i / 10)) s"
    sleep 1 # its SIGTERM handler comes right after that line
    ip -s xfrm policy count | sed "s/^/ip -s xfrm policy count: /"
    kill -TERM $pid 2>/dev/null
    rc=0
    wait $pid || rc=$?
    cat /tmp/daemon.log
    echo "ikelab start: exit $rc"')" || rc=$?
  grep -E 'Starting ikelab|UDP decapsulation enabled|IKE bypass policies installed|bypass policy failed|Sock:|up after|SIGTERM|ikelab start: exit|ikelab: ' <<<"$out" |
    sed 's/^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]* //' | while read -r l; do ev xfrm-image "$l"; done || true
  grep -q 'UDP decapsulation enabled' <<<"$out" && grep -q 'IKE bypass policies installed' <<<"$out" &&
    grep -q '^ikelab start: exit 0$' <<<"$out" || {
    printf '%s\n' "$out" | tail -20 >&2
    miss xfrm-image "ikelab start with ipsec_backend xfrm did not come up and stop cleanly"
  }
  # ... and refuses to start without NET_ADMIN (exit 2, naming the key)
  rc=0
  out="$(xfrm_config | xrun --cap-drop NET_ADMIN --entrypoint sh "$XFRM_IMAGE" -c \
    'umask 077; cat >/tmp/xfrm.yaml; exec ikelab start --config /tmp/xfrm.yaml')" || rc=$?
  ev xfrm-image "without NET_ADMIN: ikelab start: exit $rc: $(grep -m1 -o 'daemon.ipsec_backend.*' <<<"$out" | cut -c1-160)"
  [ "$rc" = 2 ] && grep -q 'no CAP_NET_ADMIN' <<<"$out" || miss xfrm-image "ikelab start without NET_ADMIN: exit $rc, not 2"

  left="$(docker ps -aq --filter "label=$XFRM_LABEL")"
  [ -z "$left" ] || miss xfrm-image "containers left: $left"
  if [ "$fail" = 0 ]; then
    echo "CHECK xfrm-image PASS ($(($(now) - t0)) s)"
  else
    echo "CHECK xfrm-image FAIL ($(($(now) - t0)) s)"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Labs
# ---------------------------------------------------------------------------------------------------------------

lab_dir() {
  local d="$LABS_DIR/$1"
  [ -f "$d/docker-compose.yml" ] || die "no lab '$1' (labs: ${ALL_LABS[*]})"
  echo "$d"
}

dc() { # dc NAME compose-args...
  local name=$1
  shift
  docker-compose --ansi never -p "ikelab-$name" -f "$(lab_dir "$name")/docker-compose.yml" "$@"
}

lab_up() {
  local name=$1 t0
  lab_dir "$name" >/dev/null
  ensure_dockerd
  build_shared_images
  t0=$(now)
  ACTIVE_LABS+=("$name")
  log "[$name] up"
  # no --build: compose builds the images that are missing, i.e. the lab-local ones (`down --rmi local` removed them
  # last time), and reuses the shared ones built above
  if ! bg_wait timeout 300 docker-compose --ansi never -p "ikelab-$name" -f "$(lab_dir "$name")/docker-compose.yml" \
    up -d --quiet-pull >"$STATE/up-$name.log" 2>&1; then
    tail -40 "$STATE/up-$name.log" >&2
    dc "$name" logs --no-color --tail 40 >&2 2>&1 || true
    log "[$name] up FAILED"
    return 1
  fi
  log "[$name] up in $(($(now) - t0)) s"
}

# docker/labs/NAME/check.sh (with docker/labs/check-lib.sh) prints `EVIDENCE <who>: <line>` and `MISSING <who>: ...`;
# its lines get the lab's name in front (`[NAME] EVIDENCE ...`), pipefail keeps its status; lab_check adds
# `CHECK NAME PASS|FAIL`
run_check() {
  LAB_NAME="$1" LAB_DIR="$2" LAB_PROJECT="ikelab-$1" \
    timeout --kill-after=5 "$CHECK_TIMEOUT" bash -c 'source "$1"; source "$2"' _ "$ROOT/docker/labs/check-lib.sh" "$2/check.sh" |
    sed -u "s/^/[$1] /"
}

lab_check() {
  local name=$1 dir rc=0 t0
  dir="$(lab_dir "$name")"
  t0=$(now)
  log "[$name] check (limit ${CHECK_TIMEOUT} s)"
  bg_wait run_check "$name" "$dir" || rc=$?
  if [ "$rc" = 0 ]; then
    echo "CHECK $name PASS ($(($(now) - t0)) s)"
  else
    [ "$rc" = 124 ] && log "[$name] check timed out after ${CHECK_TIMEOUT} s"
    echo "CHECK $name FAIL (exit $rc after $(($(now) - t0)) s)"
    log "[$name] last log lines of each service:"
    dc "$name" logs --no-color --tail 25 >&2 2>&1 || true
  fi
  return "$rc"
}

lab_down() {
  local name=$1 t0
  t0=$(now)
  lab_dir "$name" >/dev/null
  if engine_up; then
    log "[$name] down"
    timeout 120 docker-compose --ansi never -p "ikelab-$name" -f "$(lab_dir "$name")/docker-compose.yml" \
      down -v --rmi local --remove-orphans -t 3 >"$STATE/down-$name.log" 2>&1 || {
      tail -20 "$STATE/down-$name.log" >&2
      log "[$name] down failed"
    }
    local left
    left="$(docker ps -aq --filter "label=com.docker.compose.project=ikelab-$name")"
    [ -z "$left" ] || log "[$name] WARNING: containers left: $left"
  fi
  local kept=()
  for l in "${ACTIVE_LABS[@]}"; do [ "$l" = "$name" ] || kept+=("$l"); done
  ACTIVE_LABS=("${kept[@]}")
  log "[$name] down in $(($(now) - t0)) s"
}

# on exit (normal, error or signal): take down what this invocation brought up, stop the dockerd it started
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_bg
  if [ "$XFRM_RAN" = 1 ] && engine_up; then
    local ids
    ids="$(docker ps -aq --filter "label=$XFRM_LABEL" 2>/dev/null)"
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ "$KEEP_UP" != 1 ]; then
    for l in "${ACTIVE_LABS[@]}"; do lab_down "$l" || true; done
  fi
  if [ "$STARTED_DOCKERD" = 1 ] && [ "$KEEP_DOCKERD" != 1 ]; then stop_dockerd; fi
  rm -rf "$STATE"/rootfs.* "$STATE"/node-ctx.* 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# one lab command at a time on this machine (two engineers, one engine)
exec 9>"$STATE/lock"
flock -w 900 9 || die "another scripts/lab.sh holds $STATE/lock"

cmd="${1:-}"
name="${2:-}"
case "$cmd" in
  list) printf '%s\n' "${ALL_LABS[@]}" ;;
  images)
    ensure_dockerd
    build_shared_images
    ;;
  xfrm-image) xfrm_image_check ;;
  up)
    [ -n "$name" ] || usage
    if lab_up "$name"; then
      # a separate `down` takes this lab down and stops the dockerd started here
      KEEP_UP=1 KEEP_DOCKERD=1
      log "[$name] running; next: scripts/lab.sh check $name, then scripts/lab.sh down $name"
    else
      exit 1
    fi
    ;;
  check)
    [ -n "$name" ] || usage
    engine_up || die "no Docker engine answers: scripts/lab.sh up $name first"
    lab_check "$name"
    ;;
  down)
    [ -n "$name" ] || usage
    engine_up && lab_down "$name"
    # the dockerd a previous `up` started: stop it once no compose container is left
    if [ -f "$DOCKERD_PID_FILE" ] && [ -z "$(docker ps -q --filter label=com.docker.compose.project 2>/dev/null)" ]; then
      stop_dockerd
    fi
    ;;
  run)
    [ -n "$name" ] || usage
    t_all=$(now)
    rc=0
    lab_up "$name" && { lab_check "$name" || rc=$?; } || rc=1
    [ "${IKELAB_LAB_KEEP:-}" = 1 ] && [ "$rc" != 0 ] && KEEP_UP=1 && KEEP_DOCKERD=1 && log "[$name] left up (IKELAB_LAB_KEEP=1)"
    [ "$KEEP_UP" = 1 ] || lab_down "$name"
    echo "TIME $name $(($(now) - t_all)) s"
    exit "$rc"
    ;;
  all)
    t_all=$(now)
    ensure_dockerd
    build_shared_images
    echo "TIME images $(($(now) - t_all)) s"
    failed=()
    for l in "${ALL_LABS[@]}"; do
      t0=$(now)
      rc=0
      lab_up "$l" && { lab_check "$l" || rc=$?; } || rc=1
      lab_down "$l"
      [ "$rc" = 0 ] || failed+=("$l")
      echo "TIME $l $(($(now) - t0)) s"
    done
    echo "TIME all $(($(now) - t_all)) s"
    if [ "${#failed[@]}" -gt 0 ]; then
      echo "LABS FAILED: ${failed[*]}"
      exit 1
    fi
    echo "LABS PASSED: ${ALL_LABS[*]}"
    ;;
  *) usage ;;
esac
