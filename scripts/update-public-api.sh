#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to PublicAPI.Unshipped.txt of its project,
# creating PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt where missing. Usage: scripts/update-public-api.sh [project...]
# (default: every library under src/). Review the diff: each added line is a public API you are committing to.
# Removed or changed members (RS0017) are not fixed here: delete or edit their lines by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
  for p in src/*/*.csproj; do grep -q '<OutputType>Exe</OutputType>' "$p" || projects+=("$p"); done
fi
for p in "${projects[@]}"; do
  dir=$(dirname "$p")
  for f in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do [ -f "$dir/$f" ] || printf '#nullable enable\n' > "$dir/$f"; done
done
log=$(mktemp)
for p in "${projects[@]}"; do
  # Warnings, not errors, so that every target framework and every dependent project is compiled and reported.
  dotnet build "$p" --no-incremental -nologo -p:TreatWarningsAsErrors=false -clp:NoSummary >>"$log" 2>&1 || true
done
for p in "${projects[@]}"; do
  dir=$(cd "$(dirname "$p")" && pwd)
  file="$dir/PublicAPI.Unshipped.txt"
  grep -F "RS0016" "$log" | grep -F "[$dir/" \
    | sed -n "s/.*Symbol '\(.*\)' is not part of the declared public API.*/\1/p" > "$log.new" || true
  { grep -v '^#nullable' "$file" || true; cat "$log.new"; } | LC_ALL=C sort -u > "$log.body"
  { echo '#nullable enable'; cat "$log.body"; } > "$file"
  echo "$(dirname "$p"): $(wc -l < "$log.new" | tr -d ' ') reported, $(wc -l < "$log.body" | tr -d ' ') in PublicAPI.Unshipped.txt"
done
rm -f "$log" "$log.new" "$log.body"
