#!/usr/bin/env bash
# The planar_flows example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/planar_flows_smoke.sh build/examples/planar_flows/planar_flows
# A tiny run writes its figures and tables with finite, positive KL values; float32 runs too; a
# second run into the same folder is refused; bad flags are refused naming the flag.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# One target, K and M in {1, 2}, 20 iterations (30 for the long NF), 10 of maximum likelihood.
base=(--sizes 1,2 --iterations 20 --nf-long-iterations 30 --ml-iterations 10 --batch-size 32 --grid 16 --eval-size 200)
args=(--targets u1 --ml-data moons "${base[@]}")
"$bin" "${args[@]}" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "tiny run exited"; }
for f in density.png samples.png kl_curves.png budget.png ml.png results.csv curves.csv; do [ -s "$tmp/run/$f" ] || fail "no $f"; done
for f in density.png samples.png kl_curves.png budget.png ml.png; do is_png "$tmp/run/$f" || fail "$f is not a PNG"; done
[ "$(head -1 "$tmp/run/results.csv")" = task,target,model,iterations,final,standard_error,seconds,mean_nfe_forward,mean_nfe_backward ] ||
  fail "results.csv header: $(head -1 "$tmp/run/results.csv")"
# 2 NF + 2 CNF + the long NF on u1, NF and CNF on moons.
[ "$(grep -c '^kl,u1,' "$tmp/run/results.csv")" -eq 5 ] || fail "expected 5 kl rows: $(cat "$tmp/run/results.csv")"
[ "$(grep -c '^ml,moons,' "$tmp/run/results.csv")" -eq 2 ] || fail "expected 2 ml rows: $(cat "$tmp/run/results.csv")"
grep -q '^kl,u1,NF K=2 X30,30,' "$tmp/run/results.csv" || fail "no long NF row: $(cat "$tmp/run/results.csv")"
# KL(q‖p) >= 0: an estimate from 200 draws after 20 steps is far above 0, as is the NLL of moons
# (its entropy is positive), each with a standard error below it; the CNF rows have NFE.
awk -F, 'NR > 1 && !($5 > 0 && $6 > 0 && $6 < $5) { exit 1 }' "$tmp/run/results.csv" || fail "a KL or NLL that is not > 0, or its standard error"
awk -F, 'NR > 1 && $3 ~ /CNF/ && !($8 > 0 && $9 > 0) { exit 1 }' "$tmp/run/results.csv" || fail "a CNF row without NFE"
[ "$(wc -l <"$tmp/run/curves.csv")" -eq $((1 + 20 * 4 + 30 + 10 * 2)) ] || fail "curves.csv rows: $(wc -l <"$tmp/run/curves.csv")"

"$bin" "${args[@]}" --dtype float32 --grad checkpointed --out "$tmp/f32" >/dev/null 2>"$tmp/err" || fail "float32: $(cat "$tmp/err")"
[ -s "$tmp/f32/density.png" ] || fail "float32 run wrote no density.png"

# An occupied folder is refused unless --overwrite.
if "$bin" "${args[@]}" --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "refusal does not name the folder: $(cat "$tmp/err")"
"$bin" "${base[@]}" --targets u2 --ml-data "" --out "$tmp/run" --overwrite >/dev/null 2>"$tmp/err" || fail "--overwrite: $(cat "$tmp/err")"
grep -q '^kl,u2,' "$tmp/run/results.csv" || fail "--overwrite did not replace results.csv"

# Bad flags exit non-zero at parse time naming the flag, before any output.
for bad in "--iterations 0" "--iterations -5" "--iterations 2.5" "--nf-long-iterations -1" "--ml-iterations 0" \
           "--targets u5" "--targets u1,u1" "--sizes 0" "--sizes 1,x" "--ml-data nope" "--batch-size 0" "--lr-nf nan" \
           "--lr-cnf -1" "--lr-nf 0" "--hidden 0" "--rtol 0" "--atol inf" "--grad nope" "--dtype float16" "--seed -1" \
           "--grid 1" "--eval-size 0" "--threads -1"; do
  flag="${bad%% *}"
  # shellcheck disable=SC2086  # split "--flag value" into two arguments
  if "$bin" $bad --out "$tmp/bad" >/dev/null 2>"$tmp/err"; then fail "'$bad' was accepted"; fi
  grep -q -- "$flag" "$tmp/err" || fail "'$bad': the message does not name $flag: $(cat "$tmp/err")"
  [ ! -e "$tmp/bad" ] || fail "'$bad' created the output folder"
done
if "$bin" --targets "" --ml-data "" --out "$tmp/none" >/dev/null 2>"$tmp/err"; then fail "a run with nothing to train was accepted"; fi
grep -q "nothing to train" "$tmp/err" || fail "empty --targets and --ml-data: $(cat "$tmp/err")"
[ ! -e "$tmp/none" ] || fail "a run with nothing to train created its folder"
if "$bin" --out "" >/dev/null 2>"$tmp/err"; then fail "an empty --out was accepted"; fi
grep -q -- "--out" "$tmp/err" || fail "empty --out: $(cat "$tmp/err")"
echo "planar_flows smoke test passed"
