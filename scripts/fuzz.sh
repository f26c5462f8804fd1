#!/usr/bin/env bash
# Fuzzes one SharpFuzz target with afl++: segment (the Segment message reader), framer (the JSON Lines framer) or
# model (the scoring-model reader). Usage: scripts/fuzz.sh TARGET [SECONDS]   (default 1800 s; 0 runs until ^C)
#
# Needs Debian's afl++ (apt-get install -y afl++) and the SharpFuzz instrumentation tool (installed here into
# artifacts/fuzz/tools). Builds tests/LeadScoring.Fuzz in Release into a copy of the target's own
# (artifacts/fuzz/bin-TARGET), instruments its LeadScoring.dll, and runs afl-fuzz under nice from the committed seed
# corpus (tests/LeadScoring.Fuzz/corpus/TARGET) into artifacts/fuzz/TARGET. The three targets may run at the same
# time (e.g. each with `&`): the install and the build take a lock in turn, then each target fuzzes its own copy.
# Afterwards it prints afl's figures (executions, paths, crashes) and copies every crash input into
# tests/LeadScoring.Fuzz/crashes/TARGET: commit them with the fix; FuzzCorpusReplayTests replays them in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh segment|framer|model [SECONDS]}
seconds=${2:-1800}
case "$target" in segment|framer|model) ;; *) echo "unknown target '$target'" >&2; exit 2 ;; esac
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 2; }

root=artifacts/fuzz
tools=$root/tools
out=$root/bin-$target
mkdir -p "$root"
(
  flock 9   # one install and one build at a time: concurrent builds of one project clobber its obj folder
  if [ ! -x "$tools/sharpfuzz" ]; then
    dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0
  fi
  rm -rf "$out"   # a fresh copy: LeadScoring.dll is instrumented in place
  dotnet publish tests/LeadScoring.Fuzz -c Release -o "$out" -nologo -v q
  "$tools/sharpfuzz" "$out/LeadScoring.dll"
) 9>"$root/build.lock"

findings=$root/$target
rm -rf "$findings"
args=(-i "tests/LeadScoring.Fuzz/corpus/$target" -o "$findings" -t 10000 -m none)
[ "$seconds" -gt 0 ] && args+=(-V "$seconds")
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
nice -n 19 afl-fuzz "${args[@]}" -- dotnet "$out/LeadScoring.Fuzz.dll" "$target" || true

stats=$findings/default/fuzzer_stats
if [ -f "$stats" ]; then
  echo "== $target: $(grep -E '^(run_time|execs_done|corpus_count|saved_crashes|saved_hangs) ' "$stats" | tr -s ' ' | tr '\n' ' ')"
fi
mkdir -p "tests/LeadScoring.Fuzz/crashes/$target"
for f in "$findings"/default/crashes/id:*; do
  [ -e "$f" ] || continue
  cp "$f" "tests/LeadScoring.Fuzz/crashes/$target/$(sha1sum "$f" | cut -c1-16)"
  echo "crash: tests/LeadScoring.Fuzz/crashes/$target/$(sha1sum "$f" | cut -c1-16)"
done
