# mnist --distributed end to end on 2 ranks (synthetic digits, one thread per rank):
#  1. a run prints and writes once (rank 0), and its first step equals a 1-rank run's of the same
#     global batch;
#  2. a run killed (SIGKILL to one rank) during epoch 2 and resumed with --resume ends with the
#     checkpoint of an uninterrupted run, entry for entry;
#  3. a 2-rank checkpoint resumed on 1 rank at the same global batch continues the same run.
# 1 and 3 compare one step: float32 training of these models amplifies rounding quickly (two plain
# runs with 1 and 2 threads differ by 18% in some weight after 12 steps), so later steps would
# compare rounding, not averaging. The library's float64 test (tests/distributed_ranks) checks
# six steps to 1e-12. One step from equal weights agrees to ~9e-7 (momentum buffers); the bound,
# 1e-5, is far below what wrong averaging gives (a summed instead of averaged gradient: ~1).
# bash mnist_distributed.sh MNIST MPIEXEC [mpiexec flags...]
set -euo pipefail
bin="$1"
shift
mpiexec=("$@")
source "$(dirname "${BASH_SOURCE[0]}")/smoke_lib.sh"

common=(--distributed --synthetic --limit-train 384 --limit-test 128 --schedule paper --threads 1 --seed 3)
odenet=(--model odenet --tol 1e-2)
run2() { "${mpiexec[@]}" -n 2 "$bin" "${common[@]}" "$@"; }
run1() { "${mpiexec[@]}" -n 1 "$bin" "${common[@]}" "$@"; }

# The first python3 with numpy: the one on PATH (maybe pyenv's), else Debian's (python3-numpy,
# which scripts/setup installs).
py=""
for candidate in python3 /usr/bin/python3; do
  "$candidate" -c "import numpy" 2>/dev/null && { py="$candidate"; break; }
done
[ -n "$py" ] || fail "no python3 with numpy (Debian: apt-get install python3-numpy) to compare checkpoints"

# Every entry of two checkpoints equal (max |a - b| <= tol · max |b|, per entry).
same_checkpoints() {
  "$py" - "$1" "$2" "$3" <<'PY'
import sys, numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
assert sorted(a.files) == sorted(b.files), (a.files, b.files)
worst = 0.0
for k in a.files:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    scale = max(np.abs(y).max(initial=0.0), 1e-30)
    worst = max(worst, np.abs(x - y).max(initial=0.0) / scale)
print(f"max relative difference over {len(a.files)} entries: {worst:.3g} (tolerance {tol:g})")
sys.exit(0 if worst <= tol else 1)
PY
}

# 0. --distributed trains: with --eval-only or --time-steps it is refused before any work.
for other in "--time-steps 1" "--eval-only $0"; do
  if "$bin" --distributed $other --synthetic --out "$tmp/refused" >/dev/null 2>"$tmp/err"; then
    fail "--distributed with $other was accepted"
  fi
  grep -q -- "${other%% *}" "$tmp/err" || fail "the refusal does not name ${other%% *}: $(cat "$tmp/err")"
  [ ! -e "$tmp/refused" ] || fail "--distributed with $other created the output folder"
done

# 1. Output from rank 0 only, and 2 ranks of 16 = 1 rank of 32 (ResNet: no adaptive solver, whose
# steps would follow each rank's half batch).
run2 --model resnet --batch-size 16 --epochs 1 --max-steps 1 --out "$tmp/two" >"$tmp/two.out" 2>"$tmp/two.err" || {
  cat "$tmp/two.err"; fail "the 2-rank run failed"; }
[ "$(grep -c '^epoch 1:' "$tmp/two.out")" = 1 ] || fail "the epoch line is not printed exactly once: $(cat "$tmp/two.out")"
[ "$(grep -c '^model resnet' "$tmp/two.out")" = 1 ] || fail "the model line is not printed exactly once"
grep -q "batch 16 per rank x 2 ranks = 32" "$tmp/two.out" || fail "the global batch is not reported"
for f in checkpoint.npz log.csv loss.png accuracy.png nfe.png; do [ -s "$tmp/two/$f" ] || fail "no $f"; done
run1 --model resnet --batch-size 32 --epochs 1 --max-steps 1 --out "$tmp/one" >/dev/null 2>&1 || fail "the 1-rank run failed"
same_checkpoints "$tmp/two/checkpoint.npz" "$tmp/one/checkpoint.npz" 1e-5 || fail "2 ranks of 16 differ from 1 rank of 32"

# 2. Killed during epoch 2, resumed: the checkpoint of an uninterrupted run (ODE-Net, 3 epochs).
run2 "${odenet[@]}" --batch-size 16 --epochs 3 --out "$tmp/whole" >/dev/null 2>&1 || fail "the uninterrupted run failed"
run2 "${odenet[@]}" --batch-size 16 --epochs 3 --out "$tmp/killed" >"$tmp/killed.out" 2>&1 &
job=$!
for _ in $(seq 2400); do grep -q '^epoch 1:' "$tmp/killed.out" 2>/dev/null && break; sleep 0.05; done
grep -q '^epoch 1:' "$tmp/killed.out" || fail "epoch 1 did not finish within 120 s"
victim="$(pgrep -f -- "--out $tmp/killed" | grep -v "^$job\$" | tail -1)"
kill -KILL "$victim"
wait "$job" && fail "the job went on after one of its ranks was killed"
"$py" -c "import numpy, sys; sys.exit(0 if int(numpy.load('$tmp/killed/checkpoint.npz')['epochs_done']) == 1 else 1)" ||
  fail "the kill came too late: the checkpoint is not epoch 1's"
run2 "${odenet[@]}" --batch-size 16 --epochs 3 --out "$tmp/killed" --resume >"$tmp/resumed.out" 2>&1 || {
  cat "$tmp/resumed.out"; fail "the resumed run failed"; }
grep -q "resumed from .* after 1 epochs" "$tmp/resumed.out" || fail "the resumed run did not start after epoch 1"
same_checkpoints "$tmp/killed/checkpoint.npz" "$tmp/whole/checkpoint.npz" 0 ||
  fail "killed and resumed differs from uninterrupted"
[ "$(grep -c '^' "$tmp/killed/log.csv")" = 4 ] || fail "log.csv does not hold a header and 3 epochs"

# 3. Another rank count on resume: the 2-rank ResNet checkpoint continued on 1 rank of 32 equals
# the 2-rank run continued.
cp -r "$tmp/two" "$tmp/two_more"
run2 --model resnet --batch-size 16 --epochs 2 --max-steps 1 --resume --out "$tmp/two_more" >/dev/null 2>&1 ||
  fail "2-rank resume failed"
run1 --model resnet --batch-size 32 --epochs 2 --max-steps 1 --resume --out "$tmp/two" >/dev/null 2>&1 ||
  fail "1-rank resume failed"
same_checkpoints "$tmp/two/checkpoint.npz" "$tmp/two_more/checkpoint.npz" 1e-5 ||
  fail "resuming on 1 rank differs from resuming on 2"
echo "mnist --distributed: all checks passed"
