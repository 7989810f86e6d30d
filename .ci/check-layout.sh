#!/usr/bin/env bash
# Layout rules the compiler cannot see (run by .ci/run before the tests):
#  1. Boost.Beast and Asio stay inside src/http/: no header elsewhere includes them.
#  2. A write mode's folder (src/patterns/<mode>/) includes no other mode
#     folder's headers; shared pieces live in patterns/idempotency,
#     patterns/validate, patterns/document, patterns/local_copy (the local copy,
#     its sync and conflicts: edge and dual-copy routes), patterns/route.h,
#     patterns/registry.h or below patterns/.
#  3. The gateway and the config loader name no mode: they iterate the registry.
#  4. The project's docs stand alone: no link leaves the repository.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
say() { echo "check-layout: $*"; fail=1; }

while IFS= read -r hit; do
  say "Beast/Asio outside src/http/ in a header: $hit"
done < <(grep -rnE '#include <boost/(beast|asio)' src --include='*.h' --include='*.hpp' | grep -v '^src/http/')

shared="idempotency validate document local_copy"
for dir in src/patterns/*/; do
  mode=$(basename "$dir")
  case " $shared " in *" $mode "*) continue ;; esac
  while IFS= read -r hit; do
    other=$(sed -E 's/.*#include "patterns\/([^/]+)\/.*/\1/' <<<"$hit")
    case " $shared $mode " in *" $other "*) continue ;; esac
    say "mode folder patterns/$mode includes patterns/$other: $hit"
  done < <(grep -rnE '#include "patterns/[^/]+/' "$dir")
done

modes=$(grep -rhoE 'm\.name = "[a-z-]+"' src/patterns | sed -E 's/.*"(.*)"/\1/' | sort -u)
[[ -n "$modes" ]] || say "found no registered modes (m.name = \"...\" in src/patterns)"
for m in $modes; do
  while IFS= read -r hit; do
    say "the gateway or config loader names mode '$m': $hit"
  done < <(grep -rn "\"$m\"" src/gateway src/config)
done

while IFS= read -r hit; do
  say "a doc links outside the repository: $hit"
done < <(grep -rnE '\.\./shared|\.\./\.\./' README.md docs 2>/dev/null)

[[ -f .clang-format ]] || say ".clang-format is missing"
if ((fail)); then exit 1; fi
echo "check-layout: ok (modes: $(tr '\n' ' ' <<<"$modes"))"
