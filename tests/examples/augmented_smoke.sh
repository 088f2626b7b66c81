#!/usr/bin/env bash
# The augmented example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/augmented_smoke.sh build/examples/augmented/augmented
# A tiny run of two p writes its log, result and figures; float32 and every gradient mode run; a
# second run into the same folder is refused unless --overwrite; bad flags are refused naming
# the flag, before any output.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# 20 iterations of p = 0 and p = 2 on 60 points (batch 16, hidden 8): well under a second.
args=(--n 60 --batch-size 16 --hidden 8 --iters 20)
"$bin" "${args[@]}" --augment 0,2 --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "tiny run exited"; }
for f in log.csv result.csv flow.png nfe.png loss.png; do [ -s "$tmp/run/$f" ] || fail "no $f in $tmp/run"; done
for f in flow.png nfe.png loss.png; do is_png "$tmp/run/$f" || fail "$f is not a PNG"; done
[ "$(head -1 "$tmp/run/log.csv")" = p,iteration,loss,accuracy,nfe_forward,nfe_backward,seconds ] || fail "log header: $(head -1 "$tmp/run/log.csv")"
[ "$(wc -l <"$tmp/run/log.csv")" -eq 41 ] || fail "log.csv should have a header and 2 x 20 rows"
[ "$(wc -l <"$tmp/run/result.csv")" -eq 3 ] || fail "result.csv should have a header and a row per p"
[ "$(cut -d, -f1 "$tmp/run/result.csv" | tail -2 | tr '\n' ' ')" = "0 2 " ] || fail "result.csv's p column"
# Every row: a finite positive loss, an accuracy in [0, 1], forward and (adjoint, the default) backward NFE.
awk -F, 'NR > 1 && !($3 > 0 && $4 >= 0 && $4 <= 1 && $5 > 0 && $6 > 0) { exit 1 }' "$tmp/run/log.csv" || fail "a log row out of range"
grep -q 'p = 2: training loss' "$tmp/out" || fail "no summary line for p = 2 in: $(cat "$tmp/out")"

# float32 and the other gradient modes run too (direct has no backward solve: nfe_backward 0).
"$bin" "${args[@]}" --augment 1 --dtype float32 --out "$tmp/f32" >/dev/null 2>"$tmp/err" || fail "float32: $(cat "$tmp/err")"
for grad in direct checkpointed; do
  "$bin" "${args[@]}" --augment 1 --iters 3 --grad "$grad" --out "$tmp/$grad" >/dev/null 2>"$tmp/err" || fail "$grad: $(cat "$tmp/err")"
  [ -s "$tmp/$grad/result.csv" ] || fail "$grad wrote no result.csv"
done
awk -F, 'NR > 1 && $6 != 0 { exit 1 }' "$tmp/direct/log.csv" || fail "direct mode logged a backward NFE"

# An occupied folder is refused, naming it, and left alone; --overwrite replaces the run.
before="$(cat "$tmp/run/result.csv")"
if "$bin" "${args[@]}" --augment 1 --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "the refusal does not name the folder: $(cat "$tmp/err")"
[ "$(cat "$tmp/run/result.csv")" = "$before" ] || fail "the refused run changed result.csv"
"$bin" "${args[@]}" --augment 1 --out "$tmp/run" --overwrite >/dev/null 2>"$tmp/err" || fail "--overwrite: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/run/result.csv")" -eq 2 ] || fail "--overwrite did not replace result.csv"

# Bad flags exit non-zero at parse time naming the flag, before any output.
expect_bad_flags "--iters 0" "--iters -5" "--iters 2.5" "--iters nan" "--batch-size 0" "--batch-size -1" "--hidden 0" "--hidden 1.5" \
           "--n 1" "--n -3" "--n 10.5" "--seed -1" "--seed nan" "--threads 0" "--lr 0" "--lr -1" "--lr nan" "--lr inf" \
           "--rtol 0" "--rtol -1e-3" "--rtol nan" "--atol 0" "--atol inf" "--grad nope" "--dtype float16" \
           "--augment -1" "--augment 1.5" "--augment nan" "--augment 0,,2" "--augment 65" "--augment 0,1,2,3,4,5,6,7,8" "--augment 1,2,1" "--out ''"
echo "augmented smoke test passed"
