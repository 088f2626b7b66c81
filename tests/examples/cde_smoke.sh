#!/usr/bin/env bash
# The cde example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/cde_smoke.sh build/examples/cde/cde
# A tiny run of every model writes its results, curves and figures; float32 and every gradient
# mode run; a second run into the same folder is refused unless --overwrite; bad flags are
# refused naming the flag, before any output.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# 2 epochs of each model on 40 spirals of 20 points: about a second.
args=(--train 40 --test 20 --points 20 --batch-size 16 --epochs 2)
"$bin" "${args[@]}" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "tiny run exited"; }
for f in results.csv curves.csv paths.png accuracy.png loss.png; do [ -s "$tmp/run/$f" ] || fail "no $f in $tmp/run"; done
for f in paths.png accuracy.png loss.png; do is_png "$tmp/run/$f" || fail "$f is not a PNG"; done
[ "$(head -1 "$tmp/run/results.csv")" = model,parameters,test_accuracy,train_accuracy,seconds_per_epoch,nfe_forward_per_batch,nfe_backward_per_batch ] ||
  fail "results header: $(head -1 "$tmp/run/results.csv")"
[ "$(cut -d, -f1 "$tmp/run/results.csv" | tail -3 | tr '\n' ' ')" = "cde gru_dt ode_rnn " ] || fail "results.csv's model column"
[ "$(wc -l <"$tmp/run/curves.csv")" -eq 7 ] || fail "curves.csv should have a header and 3 x 2 rows"
# Accuracies in [0, 1]; the ODE models report forward and (adjoint, the default) backward NFE, the GRU none.
awk -F, 'NR > 1 && !($3 >= 0 && $3 <= 1 && $4 >= 0 && $4 <= 1) { exit 1 }' "$tmp/run/results.csv" || fail "an accuracy out of range"
awk -F, 'NR > 1 && $1 != "gru_dt" && !($6 > 0 && $7 > 0) { exit 1 }' "$tmp/run/results.csv" || fail "an ODE model without NFE"
awk -F, '$1 == "gru_dt" && !($6 == 0 && $7 == 0) { exit 1 }' "$tmp/run/results.csv" || fail "the GRU reported NFE"
grep -q '^| cde |' "$tmp/out" || fail "no table row for cde in: $(cat "$tmp/out")"

# float32 and the other gradient modes run too (direct has no backward solve).
"$bin" "${args[@]}" --models cde,ode_rnn --dtype float32 --out "$tmp/f32" >/dev/null 2>"$tmp/err" || fail "float32: $(cat "$tmp/err")"
for grad in direct checkpointed; do
  "$bin" "${args[@]}" --models cde --epochs 1 --grad "$grad" --out "$tmp/$grad" >/dev/null 2>"$tmp/err" || fail "$grad: $(cat "$tmp/err")"
  [ -s "$tmp/$grad/results.csv" ] || fail "$grad wrote no results.csv"
done
awk -F, 'NR > 1 && $7 != 0 { exit 1 }' "$tmp/direct/results.csv" || fail "direct mode reported a backward NFE"
"$bin" "${args[@]}" --models cde --epochs 1 --step-across-knots --out "$tmp/across" >"$tmp/out" 2>"$tmp/err" || fail "--step-across-knots: $(cat "$tmp/err")"
grep -q "stepping across knots" "$tmp/out" || fail "--step-across-knots is not reported in the header line"

# An occupied folder is refused, naming it, and left alone; --overwrite replaces the run.
before="$(cat "$tmp/run/results.csv")"
if "$bin" "${args[@]}" --models gru_dt --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "the refusal does not name the folder: $(cat "$tmp/err")"
[ "$(cat "$tmp/run/results.csv")" = "$before" ] || fail "the refused run changed results.csv"
"$bin" "${args[@]}" --models gru_dt --out "$tmp/run" --overwrite >/dev/null 2>"$tmp/err" || fail "--overwrite: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/run/results.csv")" -eq 2 ] || fail "--overwrite did not replace results.csv"

# Bad flags exit non-zero at parse time naming the flag, before any output.
expect_bad_flags "--epochs 0" "--epochs -5" "--epochs 2.5" "--epochs nan" "--batch-size 0" "--batch-size -1" "--train 1" "--train -3" \
           "--test 0" "--points 3" "--points 1e9" "--seed -1" "--seed nan" "--threads 0" "--lr 0" "--lr -1" "--lr nan" "--lr inf" \
           "--drop -0.1" "--drop 0.95" "--drop nan" "--noise -1" "--noise inf" "--rtol 0" "--rtol -1e-3" "--rtol nan" "--atol 0" \
           "--atol inf" "--grad nope" "--dtype float16" "--method rk4" "--method nope" "--models nope" "--models cde,cde" \
           "--models ''" "--out ''"
# A combination the data refuses: named, and nothing written.
if "$bin" --points 4 --drop 0.9 --out "$tmp/combo" >/dev/null 2>"$tmp/err"; then fail "--points 4 --drop 0.9 was accepted"; fi
grep -q -- "--drop" "$tmp/err" || fail "the refusal does not name --drop: $(cat "$tmp/err")"
[ ! -e "$tmp/combo" ] || fail "the refused combination created the output folder"
echo "cde smoke test passed"
