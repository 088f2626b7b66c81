#!/usr/bin/env bash
# The hamiltonian example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/hamiltonian_smoke.sh build/examples/hamiltonian/hamiltonian
# A tiny run of both systems writes its log, results table and figures; a second run into the
# same folder is refused unless --overwrite; bad flags are refused naming the flag, before any
# output.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# 30 iterations of every model on 4 trajectories, hidden 16, rollouts of 3 periods: about a second.
args=(--trajectories 4 --hidden 16 --separable-hidden 11 --iters 30 --periods 3 --test-states 2)
"$bin" "${args[@]}" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "tiny run exited"; }
for f in log.csv results.csv phase.png energy.png loss.png; do [ -s "$tmp/run/$f" ] || fail "no $f in $tmp/run"; done
for f in phase.png energy.png loss.png; do is_png "$tmp/run/$f" || fail "$f is not a PNG"; done
[ "$(head -1 "$tmp/run/log.csv")" = system,model,iteration,loss,seconds ] || fail "log header: $(head -1 "$tmp/run/log.csv")"
[ "$(wc -l <"$tmp/run/log.csv")" -eq 181 ] || fail "log.csv should have a header and 2 systems x 3 models x 30 rows"
# Per system: HNN, separable HNN (dopri5 and yoshida4), MLP, and the exact H through both: 6 rows.
[ "$(wc -l <"$tmp/run/results.csv")" -eq 13 ] || fail "results.csv should have a header and 6 rows per system"
grep -q '^pendulum,separable HNN,yoshida4,' "$tmp/run/results.csv" || fail "no symplectic rollout row"
# Every row has non-negative drift and error columns and a positive NFE; the learned energy's
# change is a number for the HNNs and nan for the MLP.
awk -F, 'NR > 1 && !($7 >= 0 && $8 >= 0 && $10 >= 0 && $11 >= 0 && $12 > 0) { exit 1 }
         NR > 1 && $2 ~ /HNN/ && !($9 >= 0) { exit 1 }
         NR > 1 && $2 == "MLP" && $9 != "nan" { exit 1 }' "$tmp/run/results.csv" ||
  fail "a results row out of range: $(cat "$tmp/run/results.csv")"
grep -q 'energy drift' "$tmp/out" || fail "no table in: $(cat "$tmp/out")"

# One system only, and noise 0: runs.
"$bin" "${args[@]}" --systems spring --noise 0 --out "$tmp/spring" >/dev/null 2>"$tmp/err" || fail "spring only: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/spring/results.csv")" -eq 7 ] || fail "spring only: results.csv should have 6 rows"

# An occupied folder is refused, naming it, and left alone; --overwrite replaces the run.
before="$(cat "$tmp/run/results.csv")"
if "$bin" "${args[@]}" --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "the refusal does not name the folder: $(cat "$tmp/err")"
[ "$(cat "$tmp/run/results.csv")" = "$before" ] || fail "the refused run changed results.csv"
"$bin" "${args[@]}" --systems spring --out "$tmp/run" --overwrite >/dev/null 2>"$tmp/err" || fail "--overwrite: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/run/results.csv")" -eq 7 ] || fail "--overwrite did not replace results.csv"

# Bad flags exit non-zero at parse time naming the flag, before any output.
expect_bad_flags "--iters 0" "--iters -5" "--iters 2.5" "--iters nan" "--hidden 0" "--hidden 1.5" "--separable-hidden 0" \
           "--trajectories 0" "--trajectories -1" "--test-states 0" "--periods 0" "--periods 1e5" "--seed -1" "--seed nan" \
           "--threads 0" "--lr 0" "--lr -1" "--lr nan" "--lr inf" "--rtol 0" "--rtol 2" "--rtol nan" "--step 0" "--step -0.1" \
           "--step 2" "--t-span 0" "--t-span inf" "--dt 0" "--dt nan" "--noise -0.1" "--noise nan" "--e-min 0" "--e-min 2" \
           "--e-max 1.95" "--e-max -1" "--systems pendulum,pendulum" "--systems moon" "--systems ''" "--out ''"
# Flags valid alone but not together: refused naming both, before any output.
for pair in "--e-min 0.8 --e-max 0.5" "--dt 2 --t-span 1" "--trajectories 10000 --dt 0.001"; do
  if "$bin" $pair --out "$tmp/bad" >/dev/null 2>"$tmp/err"; then fail "'$pair' was accepted"; fi
  for flag in $(echo "$pair" | grep -o -- '--[a-z-]*'); do grep -q -- "$flag" "$tmp/err" || fail "'$pair': the message does not name $flag: $(cat "$tmp/err")"; done
  [ ! -e "$tmp/bad" ] || fail "'$pair' created the output folder"
done
echo "hamiltonian smoke test passed"
