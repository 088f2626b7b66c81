#!/usr/bin/env bash
# The examples against a hostile user (issue 16): every class of bad flag (negative, zero, NaN,
# huge, non-numeric, unknown name, missing value) must end the program at parse time with a
# non-zero exit and a message naming the flag; an occupied output folder must be refused without
# --resume/--overwrite with nothing in it changed; a diverging run (--lr 1e30) must stop with a
# message naming where, and leave the last good checkpoint as it was.
#   bad_input.sh <mnist binary> <toy_density binary> <scratch folder>
# Registered with ctest (label examples) by tests/CMakeLists.txt. Prints one line per check and
# exits 1 if any failed.
set -uo pipefail
mnist="$(realpath -e "$1")" toy="$(realpath -e "$2")" work="$3" || exit 1
for bin in "$mnist" "$toy"; do [ -x "$bin" ] || { echo "bad_input.sh: $bin is not an executable" >&2; exit 1; }; done
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failed=0 checks=0

pass() { checks=$((checks + 1)); echo "ok    $1"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL  $1"; shift; printf '      %s\n' "$@"; }

# expect_refused NAME EXPECTED-TEXT... -- COMMAND...: non-zero exit, and stderr holds every
# expected text (a fixed string each).
expect_refused() {
    local name="$1"; shift
    local expected=()
    while [ "$1" != "--" ]; do expected+=("$1"); shift; done
    shift
    local err rc missing=()
    err="$("$@" 2>&1 >/dev/null)"; rc=$?
    for e in "${expected[@]}"; do grep -qF -- "$e" <<<"$err" || missing+=("$e"); done
    if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
        fail "$name" "exit code $rc (want a clean non-zero exit)" "stderr: $err"
    elif [ "${#missing[@]}" -gt 0 ]; then
        fail "$name" "stderr lacks: ${missing[*]}" "stderr: $err"
    else
        pass "$name ($rc: $(tail -n 1 <<<"$err" | head -c 200))"
    fi
}

# Every file of a folder with its size, modification time and hash.
snapshot() { (cd "$1" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# --- 1. Bad flags: refused at parse time, nothing created -----------------------------------------
# Each row: flag, value, the text stderr must hold besides the flag.
bad_flag() {
    local prog="$1" bin="$2" flag="$3" value="$4" text="$5"
    local out="parse-$prog${flag//-/_}"
    expect_refused "$prog $flag $value" "$flag" "$text" -- "$bin" "$flag" "$value" --out "$out"
    if [ -e "$out" ]; then fail "$prog $flag $value: --out untouched" "$out was created"; fi
}
for row in \
    "--batch-size|-1|-1 is not a whole number in [1, 60000]" \
    "--batch-size|0|[1, 60000]" \
    "--batch-size|1e12|1e12" \
    "--batch-size|abc|abc" \
    "--epochs|-1|[1, 100000]" \
    "--epochs|0|[1, 100000]" \
    "--warmup-steps|-1|[0, " \
    "--time-steps|-1|[0, 1000]" \
    "--limit-train|2.5|2.5" \
    "--validation|60000|[0, 59999]" \
    "--threads|-1|[0, 1024]" \
    "--seed|-1|-1" \
    "--lr|nan|finite" \
    "--lr|inf|finite" \
    "--lr|0|> 0" \
    "--lr|-0.1|> 0" \
    "--tol|0|(0, 1]" \
    "--tolerances|0.1,nan|nan" \
    "--model|densenet|densenet" \
    "--dataset|emnist|emnist" \
    "--schedule|cosine|cosine"; do
    IFS='|' read -r flag value text <<<"$row"
    bad_flag mnist "$mnist" "$flag" "$value" "$text"
done
for row in \
    "--batch-size|-1|-1 is not a whole number in [1, 100000]" \
    "--batch-size|0|[1, 100000]" \
    "--batch-size|1e12|1e12" \
    "--hidden|-5|-5" \
    "--hidden|abc|abc" \
    "--hidden|32,0,32|0" \
    "--hidden|32,,32|''" \
    "--iterations|0|[1, 10000000]" \
    "--iterations|abc|abc" \
    "--test-size|0|[1, 1000000]" \
    "--grid|0|[2, 480]" \
    "--grid|1e9|1e9" \
    "--probes|-1|[1, 64]" \
    "--threads|-1|[0, 1024]" \
    "--kinetic|nan|finite number >= 0" \
    "--kinetic|-100|>= 0" \
    "--jacobian|inf|finite" \
    "--lr|nan|finite" \
    "--lr|0|> 0" \
    "--weight-decay|-1|>= 0" \
    "--rtol|0|(0, 1]" \
    "--atol|nan|(0, 1]" \
    "--end-time|0|(0, 100]" \
    "--end-time|-inf|-inf" \
    "--dataset|spiral|spiral" \
    "--solver|rk5|rk5" \
    "--activation|relu|relu" \
    "--trace|approx|approx" \
    "--noise|uniform|uniform" \
    "--grad|bptt|bptt" \
    "--dtype|float16|float16"; do
    IFS='|' read -r flag value text <<<"$row"
    bad_flag toy_density "$toy" "$flag" "$value" "$text"
done
# "--flag=value" spelling, and missing values (the flag is the last argument).
expect_refused "toy_density --hidden=-5" "--hidden" "-5" -- "$toy" --hidden=-5 --out parse-eq
expect_refused "mnist --batch-size=-1" "--batch-size" "-1" -- "$mnist" --batch-size=-1 --out parse-eq
expect_refused "mnist --resume --overwrite" "--resume" "--overwrite" -- "$mnist" --resume --overwrite --out parse-eq
for flag in --batch-size --lr --out --model; do
    expect_refused "mnist $flag (no value)" "$flag" "missing" -- "$mnist" "$flag"
done
for flag in --iterations --kinetic --hidden --dataset --out; do
    expect_refused "toy_density $flag (no value)" "$flag" "missing" -- "$toy" "$flag"
done
[ -e parse-eq ] && fail "parse errors create no folder" "parse-eq was created"

# --- 2. Occupied run folders: refused, nothing changed -----------------------------------------
toy_small=(--iterations 2 --batch-size 16 --test-size 16 --grid 4 --threads 1)
mnist_small=(--synthetic --model resnet --batch-size 32 --limit-train 64 --limit-test 32 --threads 1)
if "$toy" "${toy_small[@]}" --out toy >/dev/null 2>&1 && "$mnist" "${mnist_small[@]}" --epochs 1 --out mn >/dev/null 2>&1; then
    pass "small runs of both examples"
else
    fail "small runs of both examples" "a run that should work failed"
fi
toy_before="$(snapshot toy)" mn_before="$(snapshot mn)"
sleep 1  # so that a rewrite would change a modification time
expect_refused "toy_density into an occupied folder" "'toy'" "already holds files" "--overwrite" -- \
    "$toy" "${toy_small[@]}" --out toy
expect_refused "mnist into an occupied folder" "'mn'" "already holds files" "--resume" "--overwrite" -- \
    "$mnist" "${mnist_small[@]}" --epochs 1 --out mn
expect_refused "mnist --epochs 0 into an occupied folder" "--epochs" -- "$mnist" "${mnist_small[@]}" --epochs 0 --out mn
[ "$(snapshot toy)" = "$toy_before" ] && pass "toy folder unchanged by the refusals" || fail "toy folder unchanged by the refusals"
[ "$(snapshot mn)" = "$mn_before" ] && pass "mnist folder unchanged by the refusals" || fail "mnist folder unchanged by the refusals"

# An output that cannot be written is found before training, not after it.
touch a-file
expect_refused "toy_density --out under a file" "a-file/run" "cannot create" -- "$toy" "${toy_small[@]}" --out a-file/run
expect_refused "toy_density --out a file" "'a-file'" "not a folder" -- "$toy" "${toy_small[@]}" --out a-file
mkdir -p blocked/density.png
expect_refused "toy_density with a folder in an output's place" "density.png" "not a regular file" -- \
    "$toy" "${toy_small[@]}" --out blocked --overwrite
[ -e blocked/training.csv ] && fail "blocked run trained nothing" "training.csv was written"
if "$toy" "${toy_small[@]}" --out toy --overwrite >/dev/null 2>&1; then pass "toy_density --overwrite"; else fail "toy_density --overwrite"; fi

# --- 3. Resume: stale temporaries removed, the log cut back to the checkpoint ---------------------
( exit 0 ) & dead=$!; wait "$dead"  # a process id that has just ended
touch "mn/checkpoint.npz.tmp-$dead-0" "mn/loss.png.tmp.$dead"
tail -n 1 mn/log.csv | sed 's/^1,/2,/' >>mn/log.csv  # a row written before a checkpoint save that never finished
if "$mnist" "${mnist_small[@]}" --epochs 1 --resume --out mn >resume.out 2>&1; then pass "mnist --resume"; else fail "mnist --resume" "$(cat resume.out)"; fi
if [ -z "$(find mn -name '*.tmp*')" ]; then pass "stale temporaries removed on start"; else fail "stale temporaries removed on start" "$(ls mn)"; fi
if [ "$(wc -l <mn/log.csv)" -eq 2 ] && cut -d, -f1 mn/log.csv | tail -n 1 | grep -qx 1; then
    pass "log rows past the checkpoint dropped on resume"
else
    fail "log rows past the checkpoint dropped on resume" "$(cat mn/log.csv)"
fi

# --- 4. Divergence: stopped with a message, the last good checkpoint kept ------------------------
ckpt_before="$(sha256sum mn/checkpoint.npz)" log_before="$(cat mn/log.csv)"
expect_refused "mnist --lr 1e30 diverges" "at epoch 2, step" "the last good checkpoint ('mn/checkpoint.npz', epoch 1) is kept" -- \
    "$mnist" "${mnist_small[@]}" --epochs 2 --resume --lr 1e30 --out mn
[ "$(sha256sum mn/checkpoint.npz)" = "$ckpt_before" ] && pass "diverged run kept the checkpoint" ||
    fail "diverged run kept the checkpoint" "checkpoint.npz changed"
[ "$(cat mn/log.csv)" = "$log_before" ] && pass "diverged run kept the log" || fail "diverged run kept the log" "$(cat mn/log.csv)"
if "$mnist" "${mnist_small[@]}" --eval-only mn/checkpoint.npz --tolerances 0.1 >eval.out 2>&1; then
    pass "the kept checkpoint still evaluates"
else
    fail "the kept checkpoint still evaluates" "$(cat eval.out)"
fi
expect_refused "mnist --lr 1e30 from scratch" "at epoch 1, step" "no checkpoint was saved" -- \
    "$mnist" "${mnist_small[@]}" --epochs 1 --lr 1e30 --out mn-diverged
[ -e mn-diverged/checkpoint.npz ] && fail "no checkpoint from a run diverged in epoch 1" "$(ls mn-diverged)"
expect_refused "toy_density --lr 1e30 diverges" "at iteration" "training stopped" -- \
    "$toy" "${toy_small[@]}" --iterations 5 --lr 1e30 --out toy-diverged
[ -e toy-diverged/density.png ] && fail "diverged toy_density draws no plots" "$(ls toy-diverged)"

# A timing run without data files: an error naming them, not a timing of synthetic digits.
expect_refused "mnist --time-steps without MNIST files" "no-such-data" "not found" "scripts/fetch-mnist" -- \
    "$mnist" --time-steps 1 --batch-size 2 --data no-such-data --out mn-timing

# --- 5. Bad environment: named, before any work ---------------------------------------------------
expect_refused "toy_density ODENET_SPIN_US=abc" "ODENET_SPIN_US" "'abc' is not a whole number of microseconds" -- \
    env ODENET_SPIN_US=abc "$toy" "${toy_small[@]}" --out toy-spin
expect_refused "mnist ODENET_SPIN_US=-5" "ODENET_SPIN_US" "'-5' is not a whole number of microseconds" -- \
    env ODENET_SPIN_US=-5 "$mnist" "${mnist_small[@]}" --epochs 1 --out mn-spin
[ -e toy-spin ] && fail "a bad environment creates no output folder" "$(ls toy-spin)"
for value in abc 0 -1 1.5 100000 ""; do
    expect_refused "mnist ODENET_NUM_THREADS='$value'" "ODENET_NUM_THREADS: '$value' is not a whole number of threads in [1, 1024]" -- \
        env ODENET_NUM_THREADS="$value" "$mnist" --synthetic --model resnet --batch-size 32 --limit-train 64 \
        --limit-test 32 --threads 0 --epochs 1 --out mn-threads
done
# A pool the system cannot start (1024 threads' stacks do not fit in 1.5 GB of address space):
# a message naming the count, not an abort.
expect_refused "toy_density: threads the system refuses" "thread pool: could not start 1024 threads" -- \
    bash -c 'ulimit -v 1500000 && exec env ODENET_NUM_THREADS=1024 "$@"' _ "$toy" --iterations 1 --batch-size 16 \
    --test-size 16 --grid 4 --threads 0 --out toy-threads

echo "$((checks - failed)) of $checks checks passed"
[ "$failed" -eq 0 ]
