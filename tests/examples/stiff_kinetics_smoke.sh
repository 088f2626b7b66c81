#!/usr/bin/env bash
# The stiff_kinetics example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/stiff_kinetics_smoke.sh build/examples/stiff_kinetics/stiff_kinetics
# A short fit writes its log, results and figures; each implicit solver, the checkpointed
# gradient and float32 run too; a second run into the same folder is refused unless --overwrite;
# bad flags are refused naming the flag, before any output.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# 12 observations up to t = 1e5, 5 iterations, a coarse curve: a few seconds.
args=(--points 12 --iters 5 --curve-points 30)
"$bin" "${args[@]}" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "short run exited"; }
for f in log.csv results.csv data.csv fit.png rates.png loss.png; do [ -s "$tmp/run/$f" ] || fail "no $f in $tmp/run"; done
for f in fit.png rates.png loss.png; do is_png "$tmp/run/$f" || fail "$f is not a PNG"; done
header=iteration,loss,k1,k2,k3,forward_nfe,forward_njac,forward_nlu,forward_accepted,forward_rejected,backward_nfe,backward_njac,backward_nlu,seconds
[ "$(head -1 "$tmp/run/log.csv")" = "$header" ] || fail "log header: $(head -1 "$tmp/run/log.csv")"
[ "$(wc -l <"$tmp/run/log.csv")" -eq 6 ] || fail "log.csv should have a header and 5 rows"
# Every row: a finite positive loss and rates, and an implicit solve's counters: NFE, Jacobians and
# LU factorisations forward and backward (the adjoint's backward solve is implicit too).
awk -F, 'NR > 1 && !($2 > 0 && $3 > 0 && $4 > 0 && $5 > 0 && $6 > 0 && $7 > 0 && $8 > 0 && $9 > 0 && $11 > 0 && $12 > 0 && $13 > 0) { exit 1 }' \
  "$tmp/run/log.csv" || fail "a log row out of range: $(cat "$tmp/run/log.csv")"
for q in k1_recovered k2_recovered k3_recovered loss_final loss_at_true_rates grad_log_k1_adjoint grad_log_k1_central_difference total_forward_njac; do
  grep -q "^$q," "$tmp/run/results.csv" || fail "no $q in results.csv: $(cat "$tmp/run/results.csv")"
done
[ "$(wc -l <"$tmp/run/data.csv")" -eq 13 ] || fail "data.csv should have a header and 12 rows"
awk -F, 'NR > 1 && !($1 > 0 && $2 > 0 && $5 > 0 && $8 > 0) { exit 1 }' "$tmp/run/data.csv" || fail "a data row out of range: $(cat "$tmp/run/data.csv")"
grep -q 'rel.error' "$tmp/out" || fail "no table of recovered rates in: $(cat "$tmp/out")"
grep -q 'gradient check' "$tmp/out" || fail "no gradient check in: $(cat "$tmp/out")"
# Five iterations from the default start move every rate towards the truth: |log(k/k_true)| shrinks.
awk -F, '$1 ~ /_initial$/ { i[substr($1, 1, 2)] = $2 } $1 ~ /_recovered$/ { r[substr($1, 1, 2)] = $2 } $1 ~ /_true$/ { t[substr($1, 1, 2)] = $2 }
         END { for (k in t) { a = log(i[k] / t[k]); b = log(r[k] / t[k]); if (a * a <= b * b) exit 1 } }' "$tmp/run/results.csv" ||
  fail "the rates did not move towards the truth: $(cat "$tmp/run/results.csv")"

# The other solvers, the checkpointed gradient and float32: two iterations each.
for variant in "--solver rosenbrock23" "--solver trbdf2" "--grad checkpointed" "--dtype float32" "--seminorm --adjoint-rtol 1e-4 --adjoint-atol 1e-8"; do
  name="$(echo "$variant" | tr -c 'a-z0-9\n' _)"
  # shellcheck disable=SC2086
  "$bin" --points 12 --iters 2 --curve-points 20 $variant --out "$tmp/$name" >/dev/null 2>"$tmp/err" || fail "$variant: $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/$name/log.csv")" -eq 3 ] || fail "$variant: log.csv should have 2 rows"
done

# An occupied folder is refused, naming it, and left alone; --overwrite replaces the run.
before="$(cat "$tmp/run/results.csv")"
if "$bin" "${args[@]}" --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "the refusal does not name the folder: $(cat "$tmp/err")"
[ "$(cat "$tmp/run/results.csv")" = "$before" ] || fail "the refused run changed results.csv"
"$bin" --points 12 --iters 2 --curve-points 20 --out "$tmp/run" --overwrite >/dev/null 2>"$tmp/err" || fail "--overwrite: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/run/log.csv")" -eq 3 ] || fail "--overwrite did not replace log.csv"

# Bad flags exit non-zero at parse time naming the flag, before any output.
expect_bad_flags "--points 1" "--points 0" "--points -3" "--points 2.5" "--points nan" "--iters 0" "--iters -1" "--iters 1.5" \
           "--t-min 0" "--t-min -1" "--t-min nan" "--t-max 0" "--t-max inf" "--t-max 1e8" "--noise -0.01" "--noise 2" "--noise nan" \
           "--k1 0" "--k1 -0.04" "--k1 inf" "--k2 nan" "--k3 1e13" "--k1-init 0" "--k2-init -1" "--k3-init nan" \
           "--lr 0" "--lr -1" "--lr nan" "--lr 100" "--lr-final -1" "--lr-final nan" "--rtol 0" "--rtol 1" "--rtol nan" \
           "--atol 0" "--atol -1" "--adjoint-rtol 0" "--adjoint-rtol nan" "--adjoint-atol -1e-9" "--adjoint-atol 1" "--truth-rtol 0" "--truth-rtol 1e-14" "--truth-atol 0" "--fd-step 0" "--fd-step 1" \
           "--curve-points 1" "--seed -1" "--threads 0" "--solver dopri5" "--solver rk4" "--solver ''" "--grad direct" \
           "--grad ''" "--dtype float16" "--dtype ''" "--out ''"
# Flags valid alone but not together: refused naming both, before any output.
for pair in "--t-min 10 --t-max 1" "--lr 0.01 --lr-final 0.1" "--dtype float32 --rtol 1e-7"; do
  if "$bin" $pair --out "$tmp/bad" >/dev/null 2>"$tmp/err"; then fail "'$pair' was accepted"; fi
  for flag in $(echo "$pair" | grep -o -- '--[a-z-]*'); do grep -q -- "$flag" "$tmp/err" || fail "'$pair': the message does not name $flag: $(cat "$tmp/err")"; done
  [ ! -e "$tmp/bad" ] || fail "'$pair' created the output folder"
done
echo "stiff_kinetics smoke test passed"
