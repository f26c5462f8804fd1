#!/usr/bin/env bash
# The Worker sample itself on the canonical workload (issue 13: "1.1 M messages into a fresh file, Worker in Release"):
# each run is a new `dotnet Worker.dll` process on a new SQLite file, reading one messages.jsonl and exiting once
# everything is committed. Per run it prints the pipeline's time (from the "Lead scoring started" log line to the
# "Drained" one, both timestamped by the console logger), its messages per second, and the whole process's wall time,
# CPU and peak RSS (GNU time).
#
#   dotnet build -c Release samples/Worker && dotnet build -c Release src/LeadScoring.Cli
#   scripts/worker-throughput.sh [RUNS] [WORK_DIR]
#
# RUNS (default 3). WORK_DIR (default a new temporary folder) receives the canonical workload from
# `leadscore bench --generate` once (model.json, messages.jsonl, 161 MB; kept when given) and the runs' databases.
# Extra settings go in the environment, for instance DOTNET_TC_CallCountingDelayMs=64 for the runtime's default
# call-counting delay (0x64 = 100 ms; the Worker's runtimeconfig sets 0). See benchmarks/README.md, "The call-counting
# delay".
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
work="${2:-}"
worker="$root/samples/Worker/bin/Release/net10.0/Worker.dll"
cli="$root/src/LeadScoring.Cli/bin/Release/net10.0/leadscore.dll"
for built in "$worker" "$cli"; do
  [[ -f "$built" ]] || { echo "worker-throughput: $built is not built (dotnet build -c Release samples/Worker src/LeadScoring.Cli)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "worker-throughput: GNU time (/usr/bin/time, Debian's time package) is needed" >&2; exit 2; }

if [[ -z "$work" ]]; then
  work="$(mktemp -d -t leadscoring-worker-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/inbox"
if [[ ! -f "$work/inbox/messages.jsonl" ]]; then
  dotnet "$cli" bench --generate "$work/canonical" > /dev/null
  mv "$work/canonical/messages.jsonl" "$work/inbox/messages.jsonl"
  mv "$work/canonical/model.json" "$work/model.json"
fi
messages=$(wc -l < "$work/inbox/messages.jsonl")

echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), DOTNET_TC_CallCountingDelayMs=${DOTNET_TC_CallCountingDelayMs:-unset}; $messages messages"
echo "| run | pipeline | msgs/s | process wall | CPU (user+sys) | peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|"
for run in $(seq 1 "$runs"); do
  rm -f "$work"/leads.db*
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" \
    dotnet "$worker" --Worker:Folder "$work/inbox" --Worker:Database "$work/leads.db" --Worker:Follow false \
      --Worker:ExitWhenDrained true --LeadScoring:ModelPath "$work/model.json" \
      --Logging:Console:TimestampFormat "HH:mm:ss.fff " > "$work/log.txt" 2>&1 \
    || { echo "worker-throughput: the Worker failed (exit $?):" >&2; tail -20 "$work/log.txt" >&2; exit 1; }
  grep -q "Drained: $messages messages committed, 0 rejected." "$work/log.txt" \
    || { echo "worker-throughput: the Worker did not commit all $messages messages:" >&2; tail -20 "$work/log.txt" >&2; exit 1; }
  awk -v messages="$messages" -v run="$run" -v times="$(cat "$work/time.txt")" '
    function seconds(stamp,   p) { split(stamp, p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
    /ScoringPipeline\[0\]/ && start == "" { start = seconds($1) }
    /DrainWatcher\[0\]/ { end = seconds($1) }
    END {
      split(times, t, " ")
      took = end - start; if (took < 0) took += 86400
      rate = sprintf("%d", messages / took); grouped = ""
      while (length(rate) > 3) { grouped = "," substr(rate, length(rate) - 2) grouped; rate = substr(rate, 1, length(rate) - 3) }
      printf "| %d | %.2f s | %s | %.2f s | %.1f s | %.2f GiB |\n", run, took, rate grouped, t[1], t[2] + t[3], t[4] / 1048576
    }' "$work/log.txt"
done
