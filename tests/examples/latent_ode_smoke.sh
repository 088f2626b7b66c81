#!/usr/bin/env bash
# The latent_ode example's smoke test, run by ctest (label examples) on the built binary:
#   tests/examples/latent_ode_smoke.sh build/examples/latent_ode/latent_ode
# A tiny run writes its log, result and figures; killed-and-resumed equals uninterrupted; a second
# run into the same folder is refused; bad flags are refused naming the flag.
set -uo pipefail
bin="$1"
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# 30 iterations on 40 spirals (batch 20), 10 observations each: about two seconds.
args=(--spirals 40 --test-spirals 10 --batch-size 20 --n 10 --eval-every 10 --save-every 7)
"$bin" "${args[@]}" --niters 30 --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "tiny run exited"; }
for f in checkpoint.npz log.csv result.csv spirals.png latent.png; do [ -s "$tmp/run/$f" ] || fail "no $f in $tmp/run"; done
is_png "$tmp/run/spirals.png" || fail "spirals.png is not a PNG"
[ "$(head -1 "$tmp/run/log.csv")" = iteration,loss,nfe_forward,nfe_backward,seconds,test_rmse_noisy,test_rmse_clean ] || fail "log header"
[ "$(wc -l <"$tmp/run/log.csv")" -eq 31 ] || fail "log.csv should have a header and 30 rows"
grep -q 'predictive RMSE on 10 test spirals' "$tmp/out" || fail "no RMSE line in: $(cat "$tmp/out")"
# Every logged iteration has a finite loss and backward NFE (checkpointed gradients by default).
awk -F, 'NR > 1 && !($2 > 0 && $4 > 0) { exit 1 }' "$tmp/run/log.csv" || fail "a row without loss or backward NFE"

# Resume: stopped after 20 iterations (checkpoints at 7 and 14, then the stop's own at 20), a
# partial log row appended as a crash would leave it, then --resume: the uninterrupted run's
# losses exactly, the partial row dropped.
"$bin" "${args[@]}" --niters 30 --stop-after 20 --out "$tmp/part" >"$tmp/out" 2>&1 || fail "stopped run: $(cat "$tmp/out")"
grep -q 'stopped after 20 iterations' "$tmp/out" || fail "stop message: $(cat "$tmp/out")"
printf '2' >>"$tmp/part/log.csv"  # row 21 torn after its first digit
"$bin" "${args[@]}" --niters 30 --out "$tmp/part" --resume >"$tmp/out" 2>&1 || fail "resume: $(cat "$tmp/out")"
grep -q 'resumed from .* after 20 iterations' "$tmp/out" || fail "resume message: $(cat "$tmp/out")"
diff <(cut -d, -f2 "$tmp/run/log.csv") <(cut -d, -f2 "$tmp/part/log.csv") >/dev/null || fail "resumed losses differ from the uninterrupted run's"
# A resume with other data or another schedule is refused, naming why.
for other in "--n 12" "--niters 40"; do
  # shellcheck disable=SC2086  # split "--flag value" into two arguments
  if "$bin" "${args[@]}" --niters 30 $other --out "$tmp/part" --resume >/dev/null 2>"$tmp/err"; then fail "resume with $other accepted"; fi
  grep -q "other --n, --seed" "$tmp/err" || fail "the refusal of $other does not say why: $(cat "$tmp/err")"
done

# The baselines and the ODE-RNN run too, in float32.
for model in rnn rnn_dt ode_rnn; do
  "$bin" "${args[@]}" --niters 3 --model "$model" --dtype float32 --out "$tmp/$model" >/dev/null 2>"$tmp/err" || fail "$model: $(cat "$tmp/err")"
  [ -s "$tmp/$model/result.csv" ] || fail "$model wrote no result.csv"
done

# An occupied folder is refused unless --overwrite.
if "$bin" "${args[@]}" --niters 2 --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "$tmp/run" "$tmp/err" || fail "refusal does not name the folder: $(cat "$tmp/err")"

# Bad flags exit non-zero at parse time naming the flag, before any output.
for bad in "--n 0" "--n 101" "--niters 0" "--niters -5" "--lr nan" "--lr -1" "--rtol 0" "--atol inf" "--batch-size 0" \
           "--model gru" "--grad nope" "--dtype float16" "--threads 0" "--seed -1" "--test-spirals 0" "--stop-after -1" \
           "--lr-final 0" "--lr-final nan" "--eval-every 0" "--save-every 0" "--spirals 0" "--n 2.5"; do
  flag="${bad%% *}"
  # shellcheck disable=SC2086  # split "--flag value" into two arguments
  if "$bin" $bad --out "$tmp/bad" >/dev/null 2>"$tmp/err"; then fail "'$bad' was accepted"; fi
  grep -q -- "$flag" "$tmp/err" || fail "'$bad': the message does not name $flag: $(cat "$tmp/err")"
  [ ! -e "$tmp/bad" ] || fail "'$bad' created the output folder"
done
if "$bin" --model rnn --n 1 --out "$tmp/bad" >/dev/null 2>"$tmp/err"; then fail "rnn with --n 1 accepted"; fi
grep -q -- "--n 1" "$tmp/err" || fail "rnn --n 1: $(cat "$tmp/err")"
echo "latent_ode smoke test passed"
