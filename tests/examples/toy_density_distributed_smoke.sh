#!/usr/bin/env bash
# toy_density --distributed under mpiexec, run by ctest (label examples) where odenet::distributed
# was built:
#   tests/examples/toy_density_distributed_smoke.sh build/examples/toy_density/toy_density mpiexec [mpiexec flags...]
# (OpenMPI wants --oversubscribe --allow-run-as-root: CMake's ODENET_MPIEXEC_FLAGS.)
# A tiny 2-rank run exits 0 with one rank's output only (rank 0 prints, the others are silent)
# and writes every output file; a refused --out on rank 0 ends the job naming the rank.
set -uo pipefail
bin="$1"
mpiexec="$2"
shift 2
mpi_flags=("$@")
# shellcheck source=smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

tiny=(--distributed --iterations 5 --batch-size 16 --grid 8 --test-size 64 --threads 1)
run2() { "$mpiexec" -n 2 "${mpi_flags[@]}" "$bin" "$@"; }

run2 "${tiny[@]}" --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "2-rank run exited non-zero"; }
# One header, one summary, one final progress line: rank 0's, and none from rank 1.
[ "$(grep -c '^toy_density: 8gaussians' "$tmp/out")" -eq 1 ] || fail "expected one header line: $(cat "$tmp/out")"
grep -q '^distributed: 2 ranks of batch 16, global batch 32$' "$tmp/out" || fail "no 'distributed: 2 ranks' line: $(cat "$tmp/out")"
[ "$(grep -c '^trained in' "$tmp/out")" -eq 1 ] || fail "expected one 'trained in' line: $(cat "$tmp/out")"
[ "$(grep -c '^held-out NLL' "$tmp/out")" -eq 1 ] || fail "expected one held-out NLL line: $(cat "$tmp/out")"
[ "$(grep -c '^wrote ' "$tmp/out")" -eq 1 ] || fail "expected one 'wrote' line: $(cat "$tmp/out")"
[ "$(grep -c '^train 100% 5/5' "$tmp/err")" -eq 1 ] || fail "expected one final progress line: $(cat "$tmp/err")"
grep -q 'rank' "$tmp/err" && fail "a rank reported an error: $(cat "$tmp/err")"
for f in data.png density.png samples.png trajectories.png training_curve.png; do
  [ -s "$tmp/run/$f" ] || fail "no $f"
  is_png "$tmp/run/$f" || fail "$f is not a PNG"
done
[ "$(wc -l <"$tmp/run/training.csv")" -eq 6 ] || fail "training.csv: expected a header and 5 rows: $(cat "$tmp/run/training.csv")"
awk -F, 'NR > 1 && !($2 == $2 + 0 && $2 > 0) { exit 1 }' "$tmp/run/training.csv" || fail "a loss that is not a positive number"

# Rank 0 refuses the occupied folder: the whole job ends non-zero, the message naming the rank.
if run2 "${tiny[@]}" --out "$tmp/run" >/dev/null 2>"$tmp/err"; then fail "a second run into $tmp/run succeeded"; fi
grep -q "toy_density: rank 0 of 2: .*already holds files" "$tmp/err" || fail "refusal does not name rank 0: $(cat "$tmp/err")"
echo "toy_density distributed smoke test passed"
