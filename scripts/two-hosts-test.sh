#!/usr/bin/env bash
# Issue 13, item 4: two hosts, one database. Two Worker processes (samples/Worker, Release) score one inbox (the
# sample's messages) into one PostgreSQL database, started together and sharing the lease "inbox" (--Worker:Lease):
# the first to take it scores, the other stands by. Once the active host has committed a third of the messages it is killed with kill -9;
# the standby takes the lease when it expires (3 s here), starts as after a crash (lead states at the state
# checkpoint, the message log after it, the folder from its committed checkpoint), finishes and writes every lead.
# Checked:
#   - the survivor's output (every lead, `leadscore score --explain` format) is byte-identical to `leadscore score`;
#   - the message log holds each applied message once: as many messages (lines of its rows) as leadscore score applied, no message id twice;
#     the dead letters are the lines leadscore score rejected;
#   - the outbox is empty (every notification delivered) and no stage change was told twice by one host (a change
#     told by the killed host and again by the survivor is the at-least-once window: counted and shown);
#   - the lease row went through exactly one takeover (epoch 2) and was released at the survivor's graceful stop.
#
#   LEADSCORING_TEST_POSTGRES=... scripts/two-hosts-test.sh   # .ci/run calls it while its server runs
#
# Builds samples/Worker in Release (incrementally); needs src/LeadScoring.Cli built (Debug) and psql (Debian's
# postgresql-client, installed with the server by scripts/pg-test-cluster.sh). Every process it starts is stopped and
# the database dropped on exit, whatever happens. Exit status 0 when every check holds.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${LEADSCORING_TEST_POSTGRES:?set LEADSCORING_TEST_POSTGRES (scripts/pg-test-cluster.sh start)}"
worker_dll=samples/Worker/bin/Release/net10.0/Worker.dll
cli_dll=src/LeadScoring.Cli/bin/Debug/net10.0/leadscore.dll
psql_bin=${PG_TEST_CLUSTER_BIN:+$PG_TEST_CLUSTER_BIN/psql}
psql_bin=${psql_bin:-psql}
command -v "$psql_bin" >/dev/null || { echo "two-hosts-test: psql is missing (apt-get install postgresql-client)" >&2; exit 1; }
[ -f "$cli_dll" ] || { echo "two-hosts-test: $cli_dll is missing: build the solution first" >&2; exit 1; }
# Always built (incremental): the hosts run this tree's code, never a stale Release build.
dotnet build samples/Worker -c Release -nologo -v quiet >"${TMPDIR:-/tmp}/two-hosts-build.$$.log" 2>&1 \
  || { tail -n 20 "${TMPDIR:-/tmp}/two-hosts-build.$$.log" >&2; rm -f "${TMPDIR:-/tmp}/two-hosts-build.$$.log"; echo "two-hosts-test: the Worker did not build" >&2; exit 1; }
rm -f "${TMPDIR:-/tmp}/two-hosts-build.$$.log"

# The Npgsql connection string's parts, for psql.
part() { tr ';' '\n' <<<"$LEADSCORING_TEST_POSTGRES" | sed -n "s/^[[:space:]]*$1[[:space:]]*=//Ip" | head -n 1; }
pg_host=$(part Host); pg_port=$(part Port); pg_user=$(part 'User\(name\| Id\)'); pg_password=$(part Password)
export PGPASSWORD="$pg_password"
sql() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 "host=${pg_host:-127.0.0.1} port=${pg_port:-5432} user=${pg_user:-postgres} dbname=$1" -c "$2"; }

work=$(mktemp -d)
pids=()
db=""
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$db" ]; then sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE);" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT    # a signal ends the script through the EXIT trap: processes stopped, database dropped
trap 'exit 143' TERM
fail() { echo "two-hosts-test: FAILED: $*" >&2; for l in "$work"/*.log; do echo "--- ${l##*/} (last lines)" >&2; tail -n 15 "$l" >&2; done; exit 1; }

db="leadscoring_two_hosts_$$_$RANDOM"
sql postgres "CREATE DATABASE $db;" || fail "could not create the database $db"
cs="$LEADSCORING_TEST_POSTGRES"
cs=$(sed "s/Database=[^;]*/Database=$db/I" <<<"$cs")
[[ "$cs" == *"Database=$db"* ]] || cs="$cs;Database=$db"
mkdir -p "$work/inbox"
cp samples/data/messages.jsonl "$work/inbox/"
as_of=2026-11-30T00:00:00Z

dotnet "$cli_dll" score --model samples/data/model.json --events samples/data/messages.jsonl --as-of $as_of --explain \
  >"$work/expected.jsonl" 2>"$work/cli.err" || fail "leadscore score failed"
applied=$(sed -n 's/.* applied \([0-9][0-9]*\),.*/\1/p' "$work/cli.err" | tail -n 1)
rejected=$(sed -n 's/.* rejected \([0-9][0-9]*\),.*/\1/p' "$work/cli.err" | tail -n 1)
[ -n "$applied" ] && [ -n "$rejected" ] || fail "could not read leadscore score's counts: $(tail -n 1 "$work/cli.err")"

# host NAME: one Worker on the shared inbox and database; small batches and frequent state checkpoints, so that the
# kill lands between two checkpoints with committed batches after the last one.
host() {
  dotnet "$worker_dll" --Worker:Folder "$work/inbox" --Worker:Store postgres --Worker:Database "$cs" \
    --Worker:Lease inbox --Worker:LeaseDuration 00:00:03 --Worker:Follow false --Worker:ExitWhenDrained true \
    --Worker:Output "$work/$1.jsonl" --Worker:AsOf $as_of --Worker:HandlerLog "$work/$1.keys" \
    --LeadScoring:BatchSize 200 --LeadScoring:StateCheckpointMessages 3000 \
    --Logging:LogLevel:LeadScoring.Samples.Worker.StageChangeLogger Warning >"$work/$1.log" 2>&1 &
  echo $! >"$work/$1.pid"
  wait $! 2>/dev/null
  echo $? >"$work/$1.rc"
}
start=$SECONDS
host a & disown $!
host b & disown $!
for _ in $(seq 1 100); do [ -s "$work/a.pid" ] && [ -s "$work/b.pid" ] && break; sleep 0.05; done
pid_a=$(cat "$work/a.pid"); pid_b=$(cat "$work/b.pid"); pids+=($pid_a $pid_b)   # the Worker processes themselves
# One of them takes the lease and scores; the other says it waits for it.
active=""
for _ in $(seq 1 600); do
  for h in a b; do grep -q 'holds its lease' "$work/$h.log" && active=$h; done
  [ -n "$active" ] && break
  sleep 0.05
done
[ -n "$active" ] || fail "neither host took the lease within 30 s"
if [ "$active" = a ]; then standby=b; a=$pid_a; b=$pid_b; else standby=a; a=$pid_b; b=$pid_a; fi
grep -q 'holds its lease' "$work/$standby.log" && fail "both hosts took the lease"

# kill -9 of the active host once a third of the messages are committed.
third=$((applied / 3)); logged=0
for _ in $(seq 1 1200); do
  logged=$(sql "$db" "SELECT count(*) FROM message_log, unnest(string_to_array(messages, E'\\n')) AS line;" 2>/dev/null || echo 0)
  [ "${logged:-0}" -ge "$third" ] && break
  sleep 0.05
done
kill -9 $a 2>/dev/null || fail "the active host was not running when a third of the messages were committed"
[ "${logged:-0}" -ge "$third" ] || fail "the active host committed $logged of $applied messages in 60 s"
grep -q 'waiting for its lease' "$work/$standby.log" || fail "the standby was not waiting for the lease when the active host was killed"
killed_at=$(sql "$db" "SELECT count(*) FROM message_log, unnest(string_to_array(messages, E'\\n')) AS line;")
state=$(sql "$db" "SELECT value FROM meta WHERE key = 'state_position';")
batches=$(sql "$db" "SELECT count(*) FROM message_log;")
echo "kill -9 of the active host ($active) with $killed_at of $applied messages committed ($batches batches, state checkpoint at batch $state), $((SECONDS - start)) s in"
[ "$killed_at" -lt "$applied" ] || fail "the active host had committed everything before it was killed: not mid-run"

# The standby takes over (after the 3 s lease) and finishes.
killed=$(date +%s%N); took=""
for _ in $(seq 1 1200); do
  [ -z "$took" ] && grep -q 'holds its lease' "$work/$standby.log" && took=$(( ($(date +%s%N) - killed) / 1000000 ))
  kill -0 $b 2>/dev/null || break
  sleep 0.1
done
kill -0 $b 2>/dev/null && fail "the standby did not finish within 120 s of the kill"
for _ in $(seq 1 50); do [ -s "$work/$standby.rc" ] && break; sleep 0.1; done
status=$(cat "$work/$standby.rc" 2>/dev/null || echo unknown)
[ "$status" = 0 ] || fail "the standby exited with $status"
grep -q 'holds its lease' "$work/$standby.log" || fail "the standby never took the lease"
[ -f "$work/$standby.jsonl" ] || fail "the standby wrote no output"
[ -f "$work/$active.jsonl" ] && fail "the killed host wrote an output: it was not killed mid-run"
echo "the standby ($standby) took the lease ${took:-?} ms after the kill (lease 3 s) and finished $((SECONDS - start)) s in"

cmp -s "$work/expected.jsonl" "$work/$standby.jsonl" || {
  diff <(head -c 2000 "$work/expected.jsonl") <(head -c 2000 "$work/$standby.jsonl") | head -n 10 >&2
  fail "the survivor's output ($(wc -l <"$work/$standby.jsonl") leads) differs from leadscore score ($(wc -l <"$work/expected.jsonl") leads)"
}
read -r rows distinct <<<"$(sql "$db" "SELECT count(*), count(DISTINCT line::jsonb->>'messageId') FROM message_log, unnest(string_to_array(messages, E'\\n')) AS line;" | tr '|' ' ')"
[ "$rows" = "$applied" ] || fail "the message log holds $rows messages, leadscore score applied $applied"
[ "$distinct" = "$rows" ] || fail "the message log holds $((rows - distinct)) message(s) twice"
letters=$(sql "$db" "SELECT count(*) FROM dead_letters;")
[ "$letters" = "$rejected" ] || fail "$letters dead letters, leadscore score rejected $rejected"
pending=$(sql "$db" "SELECT count(*) FROM outbox;")
[ "$pending" = 0 ] || fail "$pending notification(s) left in the outbox"
touch "$work/a.keys" "$work/b.keys"
for h in a b; do
  twice=$(sort "$work/$h.keys" | uniq -d | wc -l)
  [ "$twice" = 0 ] || fail "host $h told $twice stage change(s) twice"
done
told=$(cat "$work/a.keys" "$work/b.keys" | sort -u | wc -l)
again=$(comm -12 <(sort "$work/a.keys") <(sort "$work/b.keys") | wc -l)
lease=$(sql "$db" "SELECT epoch || ' ' || (expires_at = '-infinity') FROM lease WHERE scope = 'inbox';")
[ "$lease" = "2 true" ] || fail "the lease row is '$lease', expected one takeover (epoch 2) and a release ('2 true')"
echo "two-hosts-test: $(wc -l <"$work/expected.jsonl") leads byte-identical to leadscore score after kill -9 of the active host;" \
  "message log $rows messages = applied, none twice; $letters dead letters = rejected; outbox empty; $told stage changes told" \
  "($again told by both hosts: the at-least-once window of the kill); lease epoch 2, released; $((SECONDS - start)) s"
