#!/usr/bin/env bash
# Part 1 of `make demo`: check and compile every example program with neamc,
# then run one that needs no LLM with `neam run`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 2>&1  # keep neamc messages in order with the step headers

BIN=.venv/bin
[ -x "$BIN/neamc" ] || BIN="$(dirname "$(command -v neamc)")"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/neam-demo.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

shopt -s nullglob
examples=(examples/*.neam examples/*/*.neam)
if [ ${#examples[@]} -eq 0 ]; then
  echo "no example programs in examples/" >&2
  exit 1
fi

step "neamc check: ${#examples[@]} example programs"
"$BIN/neamc" check "${examples[@]}"

step "neamc compile: each example to $OUT/<path>.neamb"
for src in "${examples[@]}"; do
  target="$OUT/${src%.neam}.neamb"
  mkdir -p "$(dirname "$target")"
  "$BIN/neamc" compile "$src" -o "$target"
done

step "neam run examples/hello.neam (no LLM needed; each emit prints one line)"
"$BIN/neam" run examples/hello.neam

step "neam run $OUT/examples/hello.neamb (the compiled form, loaded without parsing)"
"$BIN/neam" run "$OUT/examples/hello.neamb"

step "neamc check on a broken program (expected to fail with positions)"
broken="$OUT/broken.neam"
cat > "$broken" <<'NEAM'
claw agent helper {
  provider: "openai"
  model: "gpt-4o"
  skills: [search]
  session { compaction: "sometimes" }
}
let r = spawn researcher("find papers");
NEAM
if "$BIN/neamc" check "$broken"; then
  echo "expected errors, got none" >&2
  exit 1
fi

step "language demo finished"
