#!/usr/bin/env bash
# Issue 15: two real silo processes (samples/Cluster/Silo) sharing a PostgreSQL database: the message log (through
# PostgreSqlLeadStore) and Orleans' membership, reminders and grain state (ADO.NET clustering on LeadScoring's own
# schema, UseLeadScoringPostgreSql; the silos install it when they start). The client finds the silos' gateways in
# the database too. It feeds the sample's messages in shuffled order; a third of the way in, the second silo is
# killed with kill -9; the first declares it dead in the membership table, takes over its partitions (replayed from
# the log), and the client's batch in flight is rolled back and sent again. The final output (every lead, explained)
# must equal `leadscore score --explain` on the same file, byte for byte; the membership table must show the killed
# silo dead and the stage clock's reminders must be in the reminder table.
#
#   LEADSCORING_TEST_POSTGRES=... scripts/orleans-cluster-test.sh   # .ci/run calls it while its server runs
#
# Needs the solution built (Debug): samples/Cluster/Silo and src/LeadScoring.Cli. Every process it starts is stopped
# and the database dropped on exit, whatever happens. Exit status 0 when the outputs are equal.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${LEADSCORING_TEST_POSTGRES:?set LEADSCORING_TEST_POSTGRES (scripts/pg-test-cluster.sh start)}"
silo_dll=samples/Cluster/Silo/bin/Debug/net10.0/LeadScoring.Cluster.Silo.dll
cli_dll=src/LeadScoring.Cli/bin/Debug/net10.0/leadscore.dll
for f in "$silo_dll" "$cli_dll"; do [ -f "$f" ] || { echo "orleans-cluster-test: $f is missing: build the solution first" >&2; exit 1; }; done

work=$(mktemp -d)
pids=()
db=""
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$db" ]; then dotnet "$silo_dll" drop-db --postgres "$db" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT    # a signal ends the script through the EXIT trap: processes stopped, database dropped
trap 'exit 143' TERM
fail() { echo "orleans-cluster-test: FAILED: $*" >&2; for l in "$work"/*.log; do echo "--- ${l##*/} (last lines)" >&2; tail -n 15 "$l" >&2; done; exit 1; }

db=$(dotnet "$silo_dll" create-db --postgres "$LEADSCORING_TEST_POSTGRES") || fail "could not create a database"
base=$((20000 + RANDOM % 20000))
p1=$base; p2=$((base + 1)); g1=$((base + 2)); g2=$((base + 3))
start=$SECONDS
dotnet "$silo_dll" silo --clustering adonet --silo-port $p1 --gateway-port $g1 --postgres "$db" >"$work/silo-1.log" 2>&1 &
pids+=($!)
disown $!   # killed on purpose: no "Killed" line from bash
dotnet "$silo_dll" silo --clustering adonet --silo-port $p2 --gateway-port $g2 --postgres "$db" >"$work/silo-2.log" 2>&1 &
silo2=$!
pids+=($silo2)
disown $silo2
for port in $g1 $g2; do
  for _ in $(seq 1 120); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.5; done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "no silo listens on gateway port $port after 60 s"
done
echo "two silos up in $((SECONDS - start)) s (gateways $g1, $g2)"

dotnet "$silo_dll" feed --clustering adonet --postgres "$db" --file samples/data/messages.jsonl --out "$work/cluster.jsonl" --explain true \
  --shuffle-seed 15 --batch 250 --delay-ms 20 >"$work/feed.log" 2>"$work/feed-errors.log" &
feeder=$!
pids+=($feeder)
# A third of the way in (92 batches of 250), the second silo dies without a word.
for _ in $(seq 1 600); do
  sent=$(grep -c '^sent batch' "$work/feed.log" 2>/dev/null || true)
  [ "${sent:-0}" -ge 31 ] && break
  kill -0 $feeder 2>/dev/null || break
  sleep 0.2
done
kill -9 $silo2 2>/dev/null || fail "the second silo was not running a third of the way in"
echo "kill -9 of the second silo after ${sent:-0} batches"
wait $feeder || fail "the feeder failed"
tail -n 1 "$work/feed.log"
# The membership table (ours, in the same database) shows the killed silo dead and the survivor active; every
# partition's stage clock is a reminder row.
for _ in $(seq 1 30); do
  membership=$(dotnet "$silo_dll" sql --postgres "$db" --query "SELECT port || ':' || status FROM orleans_silo ORDER BY port") \
    || fail "could not read the membership table"
  grep -qx "$p2:6" <<<"$membership" && break
  sleep 1
done
echo "membership (port:status, 3 active, 6 dead): $(tr '\n' ' ' <<<"$membership")"
grep -qx "$p1:3" <<<"$membership" || fail "the first silo is not active in the membership table"
grep -qx "$p2:6" <<<"$membership" || fail "the killed silo is not declared dead in the membership table"
clocks=$(dotnet "$silo_dll" sql --postgres "$db" --query "SELECT count(*) FROM orleans_reminder WHERE reminder_name = 'leadscoring-stage-clock'") \
  || fail "could not read the reminder table"
[ "$clocks" = 16 ] || fail "$clocks stage clock reminders in PostgreSQL, 16 expected (one per partition)"
echo "the first silo took over: $(grep -c 'reloads from the message log\|rolling the cluster back\|partitions reloaded' "$work/silo-1.log") reload or rollback line(s) in its log"

dotnet "$cli_dll" score --model samples/data/model.json --events samples/data/messages.jsonl --as-of 2026-11-30T00:00:00Z --explain \
  >"$work/expected.jsonl" 2>/dev/null || fail "leadscore score failed"
cmp -s "$work/expected.jsonl" "$work/cluster.jsonl" || {
  diff <(head -c 2000 "$work/expected.jsonl") <(head -c 2000 "$work/cluster.jsonl") | head -n 10 >&2
  fail "the cluster's output ($(wc -l <"$work/cluster.jsonl") leads) differs from leadscore score ($(wc -l <"$work/expected.jsonl") leads)"
}
echo "orleans-cluster-test: $(wc -l <"$work/expected.jsonl") leads byte-identical to leadscore score, one silo killed with kill -9, in $((SECONDS - start)) s"
