#!/usr/bin/env bash
# Issue 15: two real silo processes (samples/Cluster/Silo) sharing a PostgreSQL database: the message log (through
# PostgreSqlLeadStore) and Orleans' membership, reminders and grain state (ADO.NET clustering on LeadScoring's own
# schema, UseLeadScoringPostgreSql; the silos install it when they start), with the WebApi sample in front of them as
# an Orleans client (--WebApi:Store cluster: it finds the silos' gateways in the same database). The sample's messages,
# shuffled, are posted to the WebApi's Segment endpoint (POST /v1/batch, 250 a request; the one line that is not JSON
# is posted alone to /v1/track and must be refused with a 400). A third of the way in, the second silo is killed with
# kill -9; the first declares it dead in the membership table and takes over its partitions (replayed from the log);
# a request that fails meanwhile is sent again (resending is harmless: copies of a message are not counted twice).
# Then every lead is read through the WebApi: GET /leads?score=total&top=1000&asOf=... for the list of leads, and
# GET /leads/{id}?asOf=... for each. The leads, one a line in lead-id order, must equal `leadscore score --explain` on
# the same file, byte for byte; the membership table must show the killed silo dead and the stage clock's reminders
# must be in the reminder table.
#
#   LEADSCORING_TEST_POSTGRES=... scripts/orleans-cluster-test.sh   # .ci/run calls it while its server runs
#
# Needs the solution built (Debug): samples/Cluster/Silo, samples/WebApi and src/LeadScoring.Cli; curl and jq (installed
# with apt-get when missing). Every process it starts is stopped and the database dropped on exit, whatever happens.
# Exit status 0 when the outputs are equal.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${LEADSCORING_TEST_POSTGRES:?set LEADSCORING_TEST_POSTGRES (scripts/pg-test-cluster.sh start)}"
silo_dll=samples/Cluster/Silo/bin/Debug/net10.0/LeadScoring.Cluster.Silo.dll
cli_dll=src/LeadScoring.Cli/bin/Debug/net10.0/leadscore.dll
webapi_dll=samples/WebApi/bin/Debug/net10.0/WebApi.dll
for tool in curl jq; do
  # Both are in the machine's image; a machine without them gets Debian's packages (as root), as pg-test-cluster.sh does.
  if ! command -v $tool >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "orleans-cluster-test: installing $tool (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool; } >/dev/null 2>&1
  fi
  command -v $tool >/dev/null || { echo "orleans-cluster-test: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
for f in "$silo_dll" "$cli_dll" "$webapi_dll"; do [ -f "$f" ] || { echo "orleans-cluster-test: $f is missing: build the solution first" >&2; exit 1; }; done

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
# Five ports in a row, below the kernel's ephemeral range (32768 on), that no socket uses now: a port in that range
# can be taken meanwhile by any outgoing connection (Npgsql's, the tests'), and a silo that cannot bind it never starts.
ports_in_use() {
  local f local_address
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ local_address _; do echo $((16#${local_address##*:})); done < <(tail -n +2 "$f")
  done
}
for _ in $(seq 1 50); do
  base=$((20000 + RANDOM % 12000))
  used=$(ports_in_use)
  clash=0
  for p in $(seq "$base" $((base + 4))); do grep -qx "$p" <<<"$used" && clash=1; done
  [ "$clash" -eq 0 ] && break
done
p1=$base; p2=$((base + 1)); g1=$((base + 2)); g2=$((base + 3)); web_port=$((base + 4))
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

# The WebApi in front, as an Orleans client of the cluster; ready when it answers a read with the cluster's 404.
dotnet "$webapi_dll" --WebApi:Store cluster --WebApi:Database "$db" --urls "http://127.0.0.1:$web_port" \
  --Logging:LogLevel:Default Warning >"$work/webapi.log" 2>&1 &
pids+=($!)
disown $!
web="http://127.0.0.1:$web_port"
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$web/leads/none")" = 404 ] && break
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$web/leads/none")" = 404 ] || fail "the WebApi did not answer GET /leads/none with 404 (the cluster's answer) after 60 s"
echo "WebApi in front of the cluster on $web after $((SECONDS - start)) s"

# post BODY_FILE PATH: posts until the WebApi answers other than 5xx (or no answer, while a silo is being declared
# dead); prints the final status. 200: all accepted; 400: the response lists what was refused, the rest is accepted.
post() {
  local status
  for attempt in $(seq 1 40); do
    status=$(curl -s -o "$work/response.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$1" "$web$2")
    case "$status" in
      2??|4??) echo "$status"; return 0 ;;
    esac
    echo "POST $2 answered ${status} (attempt $attempt): $(head -c 200 "$work/response.json" 2>/dev/null)" >>"$work/feed.log"
    sleep 2
  done
  echo "$status"
}

# The sample's lines in a fixed shuffled order; a line that is not JSON cannot go in a {"batch": [...]} body.
awk 'BEGIN { srand(15) } NF { printf "%.15f\t%s\n", rand(), $0 }' samples/data/messages.jsonl | sort -k1,1 | cut -f2- >"$work/shuffled.jsonl"
jq -R -r '. as $line | try (fromjson | "ok\t" + $line) catch ("bad\t" + $line)' "$work/shuffled.jsonl" >"$work/marked.tsv" \
  || fail "jq could not sort the lines into JSON and not JSON"
grep '^bad' "$work/marked.tsv" | cut -f2- >"$work/not-json.jsonl"
grep '^ok' "$work/marked.tsv" | cut -f2- | split -l 250 -d -a 3 - "$work/batch-"
batches=("$work"/batch-*)
refused=0
while IFS= read -r line; do
  printf '%s' "$line" >"$work/single.json"
  status=$(post "$work/single.json" /v1/track)
  [ "$status" = 400 ] && grep -q 'not valid JSON' "$work/response.json" || fail "a line that is not JSON got HTTP $status: $(cat "$work/response.json")"
  refused=$((refused + 1))
done <"$work/not-json.jsonl"
for i in "${!batches[@]}"; do
  { printf '{"batch":['; paste -sd, "${batches[$i]}"; printf ']}'; } >"$work/body.json"
  status=$(post "$work/body.json" /v1/batch)
  case "$status" in
    200) ;;
    400) grep -q '"rejected"' "$work/response.json" || fail "batch $i refused as a whole: $(cat "$work/response.json")"
         refused=$((refused + $(jq '.rejected | length' "$work/response.json")))
         jq -c '.rejected[]' "$work/response.json" >>"$work/feed.log" ;;
    *) fail "batch $i: HTTP $status after retries: $(head -c 300 "$work/response.json")" ;;
  esac
  echo "sent batch $((i + 1)) of ${#batches[@]}" >>"$work/feed.log"
  # A third of the way in, the second silo dies without a word.
  if [ "$i" -eq $((${#batches[@]} / 3)) ]; then
    kill -9 $silo2 2>/dev/null || fail "the second silo was not running a third of the way in"
    echo "kill -9 of the second silo after $((i + 1)) of ${#batches[@]} batches"
  fi
done
echo "posted ${#batches[@]} batches to /v1/batch through the WebApi, $refused message(s) refused with a reason, $(grep -c ' answered ' "$work/feed.log") request(s) sent again ($((SECONDS - start)) s)"

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

# Every lead through the WebApi: the list (ids), then each lead, explained, as of the CLI's instant.
as_of=2026-11-30T00:00:00Z
for _ in $(seq 1 60); do
  [ "$(curl -s -o "$work/list.json" -w '%{http_code}' "$web/leads?score=total&top=1000&asOf=$as_of")" = 200 ] && break
  sleep 2
done
jq -e 'type == "array"' "$work/list.json" >/dev/null 2>&1 || fail "GET /leads did not answer with a JSON array: $(head -c 300 "$work/list.json")"
jq -r 'map(.leadId) | sort | .[] | @uri' "$work/list.json" >"$work/ids.txt"
: >"$work/cluster.jsonl"
while IFS= read -r id; do
  status=$(curl -s -o "$work/lead.json" -w '%{http_code}' "$web/leads/$id?asOf=$as_of")
  [ "$status" = 200 ] || fail "GET /leads/$id answered $status: $(head -c 300 "$work/lead.json")"
  { cat "$work/lead.json"; echo; } >>"$work/cluster.jsonl"
done <"$work/ids.txt"
echo "read $(wc -l <"$work/ids.txt") leads through GET /leads and GET /leads/{id}"

dotnet "$cli_dll" score --model samples/data/model.json --events samples/data/messages.jsonl --as-of $as_of --explain \
  >"$work/expected.jsonl" 2>"$work/cli.log" || fail "leadscore score failed"
cli_rejected=$(sed -n 's/.* rejected \([0-9][0-9]*\),.*/\1/p' "$work/cli.log" | tail -n 1)
[ "$refused" = "$cli_rejected" ] || fail "the WebApi refused $refused message(s), leadscore score rejected ${cli_rejected:-?}"
cmp -s "$work/expected.jsonl" "$work/cluster.jsonl" || {
  diff <(head -c 2000 "$work/expected.jsonl") <(head -c 2000 "$work/cluster.jsonl") | head -n 10 >&2
  fail "the cluster's output ($(wc -l <"$work/cluster.jsonl") leads) differs from leadscore score ($(wc -l <"$work/expected.jsonl") leads)"
}
# The lists' filters and order (stage; the score named, else the model's first; then lead id; top) against the same
# selection made with jq from leadscore score's output (both sides re-printed by jq: the same objects, the same order).
for query in "stage=mql&score=total&top=7" "stage=sql&top=5" "score=engagement&top=12"; do
  stage=$(sed -n 's/.*stage=\([a-z]*\).*/\1/p' <<<"$query"); score=$(sed -n 's/.*score=\([a-z]*\).*/\1/p' <<<"$query")
  top=${query##*top=}
  status=$(curl -s -o "$work/list.json" -w '%{http_code}' "$web/leads?$query&asOf=$as_of")
  [ "$status" = 200 ] || fail "GET /leads?$query answered $status: $(head -c 300 "$work/list.json")"
  jq -s -c --arg stage "$stage" --arg score "$score" --argjson top "$top" \
    'map(select($stage == "" or .stage == $stage))
     | sort_by([-(if $score == "" then (.scores | to_entries[0].value) else .scores[$score] end), .leadId])
     | .[:$top][]' "$work/expected.jsonl" >"$work/list-expected.jsonl"
  jq -c '.[]' "$work/list.json" >"$work/list-got.jsonl"
  [ -s "$work/list-expected.jsonl" ] || fail "GET /leads?$query: leadscore score has no such lead to compare with"
  cmp -s "$work/list-expected.jsonl" "$work/list-got.jsonl" \
    || fail "GET /leads?$query listed $(jq -r '.[].leadId' "$work/list.json" | tr '\n' ' '), expected $(jq -r .leadId "$work/list-expected.jsonl" | tr '\n' ' ')"
done
echo "GET /leads?stage=..&score=..&top=.. lists the leads that leadscore score's output gives (3 queries)"
echo "orleans-cluster-test: $(wc -l <"$work/expected.jsonl") leads read through the WebApi byte-identical to leadscore score, one silo killed with kill -9, in $((SECONDS - start)) s"
