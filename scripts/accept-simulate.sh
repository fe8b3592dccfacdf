#!/usr/bin/env bash
# Acceptance run of the devices issue's own figure, end to end through the real processes:
#   iotctl local on a fresh temporary data directory (not --ephemeral: `iotctl simulate --data-dir`
#   reads the local CA and the dead-letter file from the same directory), every listener on a free
#   port read back from the printed table, then
#   iotctl simulate --devices 200 --rate 10 --duration 60 against it.
# Passes only when every device connected, every planned message was sent, the accounting line
# says "exact" (sent = stored + dead-lettered + failed, read back from the stores), the simulator
# exited 0, and the platform stops on SIGTERM with exit 0. Cleans up on every path.
# It also fails when the platform process's peak RSS is over ACCEPT_MAX_RSS_MB (300) on a machine
# that is not overloaded, and prints it with the load average (see "Memory of the local platform" in docs/runbook.md). Both processes run
# as `bin/iotctl.js`, through its first line, as an operator runs them; ACCEPT_PLATFORM_NODE_OPTIONS
# goes to the platform's NODE_OPTIONS (an --import of a sampler, say).
# ACCEPT_DEVICES / ACCEPT_RATE / ACCEPT_DURATION shrink the run for a quick try.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

devices="${ACCEPT_DEVICES:-200}"
rate="${ACCEPT_RATE:-10}"
duration="${ACCEPT_DURATION:-60}"
# The platform's peak RSS target: every local queue is bounded.
max_rss_mb="${ACCEPT_MAX_RSS_MB:-300}"
ready_line='Local platform is ready.'
ready_timeout_s=120

work="$(mktemp -d "${TMPDIR:-/tmp}/accept-simulate.XXXXXX")"
data_dir="${work}/data"
platform_log="${work}/local.log"
simulate_out="${work}/simulate.out"
platform_pid=''
simulate_pid=''

stop_pid() {
  # SIGTERM, then SIGKILL if it is still there after 20 s.
  local pid="$1"
  kill -0 "${pid}" 2>/dev/null || return 0
  kill -TERM "${pid}" 2>/dev/null
  for _ in $(seq 200); do kill -0 "${pid}" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "${pid}" 2>/dev/null
}

cleanup() {
  [[ -n "${simulate_pid}" ]] && stop_pid "${simulate_pid}"
  [[ -n "${platform_pid}" ]] && stop_pid "${platform_pid}"
  rm -rf "${work}"
}
trap cleanup EXIT
# An interrupted run still goes through the EXIT trap (and fails).
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "accept:simulate: FAILED: $*" >&2
  if [[ -s "${platform_log}" ]]; then
    echo "--- last lines of iotctl local ---" >&2
    tail -n 30 "${platform_log}" >&2
  fi
  exit 1
}

echo "accept:simulate: starting iotctl local on ${data_dir}"
NODE_OPTIONS="${NODE_OPTIONS:+${NODE_OPTIONS} }${ACCEPT_PLATFORM_NODE_OPTIONS:-}" bin/iotctl.js local --data-dir "${data_dir}" \
  --port-dynamodb 0 --port-mqtt 0 --port-graphql 0 --port-grpc 0 >"${platform_log}" 2>&1 &
platform_pid=$!

deadline=$((SECONDS + ready_timeout_s))
until grep -qsF "${ready_line}" "${platform_log}"; do
  kill -0 "${platform_pid}" 2>/dev/null || fail "iotctl local exited before it was ready"
  ((SECONDS < deadline)) || fail "iotctl local not ready within ${ready_timeout_s} s"
  sleep 0.2
done

# Ports were picked by the OS: read them from the endpoint table it printed.
dynamodb_endpoint="$(sed -n 's#^dynamodb[[:space:]]\{1,\}\(http://[^[:space:]]*\)$#\1#p' "${platform_log}" | head -n 1)"
mqtt_port="$(sed -n 's#^mqtt[[:space:]]\{1,\}mqtts://[^[:space:]]*:\([0-9]\{1,\}\)$#\1#p' "${platform_log}" | head -n 1)"
[[ -n "${dynamodb_endpoint}" && -n "${mqtt_port}" ]] || fail "cannot read the dynamodb endpoint and mqtt port from the table"
echo "accept:simulate: ready (dynamodb ${dynamodb_endpoint}, mqtt port ${mqtt_port})"

echo "accept:simulate: iotctl simulate --devices ${devices} --rate ${rate} --duration ${duration}"
bin/iotctl.js simulate --devices "${devices}" --rate "${rate}" --duration "${duration}" \
  --endpoint "${dynamodb_endpoint}" --data-dir "${data_dir}" --mqtt-port "${mqtt_port}" \
  > >(tee "${simulate_out}") &
simulate_pid=$!
wait "${simulate_pid}"
simulate_status=$?
simulate_pid=''
# Let tee write its last lines before they are read.
sleep 0.5

planned=$((devices * $(node -e 'console.log(Math.floor(Number(process.argv[1]) * Number(process.argv[2])))' "${rate}" "${duration}")))
grep -qx "devices ${devices} (connected ${devices})" "${simulate_out}" || fail "not every device connected"
grep -q "^sent ${planned}, " "${simulate_out}" || fail "not all ${planned} planned messages were sent"
grep -qE '^accounting: sent [0-9]+ = stored [0-9]+ \+ dead-lettered [0-9]+ \+ failed [0-9]+ \(exact\)$' "${simulate_out}" ||
  fail "the accounting is not exact"
((simulate_status == 0)) || fail "iotctl simulate exited ${simulate_status}"

# VmHWM: the platform process's peak resident set since it started (Linux). The machine's load
# goes beside it: on a machine short of CPU more messages are in flight at once, and the peak rises
# (309 MB at a load of 8 on 2 CPUs). So the target is judged only while the 1-minute load average
# is at most 2 per CPU, which the platform and the simulator alone stay under; above that the run
# says so and passes on its accounting.
peak_rss_kb="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/${platform_pid}/status" 2>/dev/null)"
if [[ -n "${peak_rss_kb}" ]]; then
  peak_rss_mb=$((peak_rss_kb / 1024))
  load_average="$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null)"
  cpus="$(nproc 2>/dev/null || echo 1)"
  echo "accept:simulate: peak RSS of iotctl local ${peak_rss_mb} MB (target <= ${max_rss_mb} MB; load average ${load_average:-unknown} on ${cpus} CPUs)"
  if ((peak_rss_mb > max_rss_mb)); then
    if awk -v load="${load_average%% *}" -v cpus="${cpus}" 'BEGIN { exit !(load + 0 > 2 * cpus) }'; then
      echo "accept:simulate: peak RSS over the ${max_rss_mb} MB target, not judged: the load average is over 2 per CPU"
    else
      fail "peak RSS ${peak_rss_mb} MB is over the ${max_rss_mb} MB target"
    fi
  fi
else
  echo "accept:simulate: peak RSS not measured (no /proc/${platform_pid}/status on this system)"
fi

echo "accept:simulate: stopping iotctl local with SIGTERM"
kill -TERM "${platform_pid}"
wait "${platform_pid}"
platform_status=$?
platform_pid=''
((platform_status == 0)) || fail "iotctl local exited ${platform_status} after SIGTERM"
grep -q '^\[local\] stopped$' "${platform_log}" || fail "iotctl local did not report a clean stop"

echo "accept:simulate: passed ($(grep '^accounting:' "${simulate_out}"))"
