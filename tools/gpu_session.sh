#!/usr/bin/env bash
# The checks a session that changed the GPU code runs on the GPU machine, in few device
# calls. Run from the repository root there, with the wheels of ../shared/tools/device-wheels
# carried in .whl/ and, for `bench`, the previous code unpacked in .baseline/
# (here: mkdir .baseline && git archive REV | tar -x -C .baseline; carry it).
#
#   bash tools/gpu_session.sh tests      # the GPU-marked tests and the host-code checks
#   bash tools/gpu_session.sh bench      # microcircuit and balanced AdEx, new vs .baseline
#   bash tools/gpu_session.sh sanitize   # compute-sanitizer over our kernels
#   bash tools/gpu_session.sh capacity   # construction bytes per synapse on the GPU
#   bash tools/gpu_session.sh mam        # the multi-area model at full scale, procedural
#   bash tools/gpu_session.sh all
#
# Logs and JSON go to $OUT (the device tool's folder that comes back), else ./out/.
set -uo pipefail
stage=${1:-all}
out=${OUT:-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)   # absolute: the benchmarks run from other folders
# a fresh target each call: a second install into a used one leaves packages half-replaced
site=$(mktemp -d /tmp/site.XXXX)
python3 -m pip install -q --no-index --no-deps --target "$site" .whl/*.whl || exit 1
export PYTHONPATH=$site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
status=0

run_tests() {
    timeout "${TEST_TIMEOUT:-560}" python3 -m pytest -q -m gpu tests -p no:cacheprovider -rfE --continue-on-collection-errors \
        --durations=15 2>&1 | tee "$out/gpu_tests.log" | tail -60
    status=$((status | PIPESTATUS[0]))
}

bench_one() {  # $1: code directory, $2: label
    (cd "$1" && PYTHONPATH=$site:$PWD python3 benchmarks/microcircuit.py --scale 1 \
        --time 3000 --devices gpu --precision float32 --record no yes \
        --json "$out/microcircuit_$2.json") 2>&1 | tail -8 | tee -a "$out/bench.log"
    (cd "$1" && PYTHONPATH=$site:$PWD python3 benchmarks/balanced_adex.py \
        --sizes 1000000 --time 1000 --json "$out/balanced_adex_$2.json") 2>&1 \
        | tail -8 | tee -a "$out/bench.log"
}

run_bench() {
    if [ ! -d .baseline ]; then
        echo "no .baseline/: the previous code is needed for the same-call comparison" >&2
        status=1
        return
    fi
    # alternate, so that a slow card or a warm-up favours neither side
    bench_one . new
    bench_one .baseline before
    bench_one . new2
    bench_one .baseline before2
}

run_capacity() {  # GPU bytes per synapse at peak, per connector, float32 and float64
    timeout "${CAPACITY_TIMEOUT:-240}" python3 benchmarks/capacity.py --backend gpu \
        --synapses "${CAPACITY_SYNAPSES:-20000000}" --json "$out/capacity.json" \
        --label gpu 2>&1 | tail -40 | tee "$out/capacity.log"
    status=$((status | PIPESTATUS[0]))
}

run_mam() {  # build time, memory and RTF of the full multi-area model (one call: ~10 min)
    (cd examples/multi_area && timeout "${MAM_TIMEOUT:-560}" python3 multi_area.py neurongpu \
        --scale "${MAM_SCALE:-1}" --time "${MAM_TIME:-100}" --warmup 0 --native-rng \
        --connectivity auto --no-record --output-dir "$out/mam") 2>&1 | tail -30 \
        | tee "$out/mam.log"
    status=$((status | PIPESTATUS[0]))
}

run_sanitize() {
    python3 tools/sanitize_gpu.py --logs "$out/sanitizer" 2>&1 | tail -40 | tee "$out/sanitizer.log"
    status=$((status | PIPESTATUS[0]))
}

case "$stage" in
    tests) run_tests ;;
    bench) run_bench ;;
    sanitize) run_sanitize ;;
    capacity) run_capacity ;;
    mam) run_mam ;;
    all) run_tests; run_bench; run_sanitize ;;
    *) echo "unknown stage $stage (tests, bench, sanitize, capacity, mam, all)" >&2; exit 2 ;;
esac
exit $status
