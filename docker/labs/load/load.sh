#!/bin/sh
# One load run per container (docker/labs/load) or pod (docker/k8s, whose ConfigMap carries this file as is):
# render the config template, start the daemon, bring up IKELAB_LOAD_COUNT IKE_SAs with `ikelab initiate --count`,
# one identity per SA (c<N>.<hostname>@load.lab: distinct across containers too), then publish the JSON summary:
# on stdout as one `IKELAB_LOAD_SUMMARY {...}` line (what `kubectl logs` collects for `ikelab load-merge`) and, with
# IKELAB_LOAD_RESULTS, as DIR/<hostname>.json. IKELAB_LOAD_HOLD=yes keeps the daemon and its SAs up afterwards (the
# lab counts them on strongSwan); otherwise the daemon deletes them and the script ends (a Job's pod completes).
# Exit 0 whenever a summary was written: whether the run was good is for load-merge to say across all of them.
#   IKELAB_HEADEND  address or DNS name of the headend      IKELAB_PSK  the pre-shared key
#   IKELAB_LOAD_COUNT (50)  IKELAB_LOAD_RATE (25 per second)  IKELAB_LOAD_TIMEOUT (120 s)
#   IKELAB_CONFIG_TEMPLATE (/etc/ikelab/ikelab.yaml)
set -eu
: "${IKELAB_HEADEND:?the headend address or DNS name}"
: "${IKELAB_PSK:?the pre-shared key}"
count=${IKELAB_LOAD_COUNT:-50}
rate=${IKELAB_LOAD_RATE:-25}
timeout=${IKELAB_LOAD_TIMEOUT:-120}
template=${IKELAB_CONFIG_TEMPLATE:-/etc/ikelab/ikelab.yaml}
config=/tmp/load-config.yaml
me=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}

# ikelab initiates to an address, not a name: resolved once, with the container's resolver
headend=$(getent ahostsv4 "$IKELAB_HEADEND" | awk 'NR == 1 { print $1 }')
if [ -z "$headend" ]; then
  echo "load.sh: cannot resolve IKELAB_HEADEND '$IKELAB_HEADEND'" >&2
  exit 2
fi
# the key goes in as a JSON string, which YAML reads as it is whatever characters it holds
HEADEND=$headend node -e '
  const fs = require("node:fs");
  const [template, out] = process.argv.slice(1);
  const text = fs.readFileSync(template, "utf8")
    .replaceAll("headend.invalid", process.env.HEADEND)
    .replace(/^(\s*secret:\s*)IKELAB_PSK\s*$/m, (_, key) => key + JSON.stringify(process.env.IKELAB_PSK));
  fs.writeFileSync(out, text, { mode: 0o600 });
' "$template" "$config"

ikelab start --config "$config" &
daemon=$!
# SIGTERM (docker stop, a deleted pod): the daemon deletes its IKE_SAs before it exits
trap 'kill -TERM "$daemon" 2>/dev/null; wait "$daemon"; exit 143' TERM INT
# the daemon is up once its control socket exists (polled without starting a node process each time: N containers
# on a few cores would spend their CPU on that)
socket=$(sed -n 's/^ *control_socket: *\([^ #]*\).*/\1/p' "$config")
i=0
until [ -S "$socket" ]; do
  i=$((i + 1))
  kill -0 "$daemon" 2>/dev/null || { echo "load.sh: the daemon exited" >&2; exit 1; }
  [ "$i" -le 300 ] || { echo "load.sh: no control socket $socket after 30 s" >&2; exit 1; }
  sleep 0.1
done

rc=0
ikelab initiate --socket "$socket" --ike load --count "$count" --rate "$rate" --timeout "$timeout" \
  --id-pattern "c%d.$me@load.lab" --json --quiet >/tmp/summary.json || rc=$?
if [ -s /tmp/summary.json ]; then
  echo "IKELAB_LOAD_SUMMARY $(cat /tmp/summary.json)"
  if [ -n "${IKELAB_LOAD_RESULTS:-}" ]; then
    # written under another name, then renamed: a reader never sees half a summary
    cp /tmp/summary.json "$IKELAB_LOAD_RESULTS/.$me.json.tmp"
    mv "$IKELAB_LOAD_RESULTS/.$me.json.tmp" "$IKELAB_LOAD_RESULTS/$me.json"
  fi
  rc=0
else
  echo "load.sh: the load run gave no summary (ikelab initiate exit $rc)" >&2
  [ "$rc" != 0 ] || rc=1
fi

if [ "${IKELAB_LOAD_HOLD:-no}" = yes ]; then
  wait "$daemon"
else
  kill -TERM "$daemon" 2>/dev/null || true
  wait "$daemon" || true
  exit "$rc"
fi
