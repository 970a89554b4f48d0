#!/usr/bin/env bash
# Wall times of the supervised-learning figures (issue 4) on an accelerator, in one short run.
#
# For a session lent a GPU (the `device` tool: 15 minutes of device time in all, 10 a call).
# The device image has JAX with CUDA, flax, optax, matplotlib, click and rich but no NetKet;
# the supervised path does not import NetKet, so qsntk runs from src/ with no install:
#
#     bash benchmarks/device_supervised.sh            # on the device, from the repository root
#     SMOKE=1 PY=.venv/bin/python bash benchmarks/device_supervised.sh   # here, on the CPU: tiny
#                                                     # sizes, checks the script (about 40 s)
#     STEPS="devices cell-w5000" bash benchmarks/device_supervised.sh   # only some steps
#
# Each step runs under `timeout $STEP_TIMEOUT` (default 240 s), so one that hangs cannot use up
# the session's device time.
#
# Steps, each timed with bash's SECONDS and logged under $OUT (default /tmp/qsntk-device; on the
# device tool, its own $OUT, which comes back):
#   1. the JAX version and devices;
#   2. `qsntk reproduce luo2023-fig2 --quick` (what `make run` does; 138 s on a 2-core Zen 4);
#   3. one full-size Fig. 2 cell: TFIM, |B| = 2400, width 5000, 10 members, 1000 epochs
#      (CPU baseline: 104 s of training with the native kernel on the idle 2-core Zen 4 of
#      2026-12-04, docs/benchmarks.md; it reproduced docs/results.md's deviations to the digit);
#   4. the ensemble step benchmark (10 members, width 5000, |B| = 4000, float32) with the GEMM
#      rate of the same device, XLA path (the native kernel is CPU-only).
# Then it prints a summary table; record it in docs/benchmarks.md with the device's name.
set -euo pipefail
OUT=${OUT:-/tmp/qsntk-device}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 QSNTK_NO_PROGRESS=1
PY=${PY:-python3}
if [[ "${SMOKE:-0}" == 1 ]]; then
    CELL=(--widths 64 --members 2 --steps 20 --n-log 8)
    BENCH=(--members 2 --width 256 --train 400 --repeats 2 --steps 1 --no-generic --chunks 128)
else
    CELL=(--widths 5000 --members 10 --steps 1000 --n-log 40)
    BENCH=(--repeats 5 --steps 2 --no-generic --chunks 128)
fi
STEPS=${STEPS:-devices fig2-quick cell-w5000 ensemble-step}
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
declare -A WALL

step() {            # step NAME COMMAND...: run (if in $STEPS) under the timeout, log, time it
    local name=$1; shift
    [[ " $STEPS " == *" $name "* ]] || return 0
    local t0=$SECONDS rc=0
    echo "== $name: $*"
    timeout "$STEP_TIMEOUT" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
    WALL[$name]=$((SECONDS - t0))
    if (( rc != 0 )); then
        echo "$name failed (exit $rc$( ((rc == 124)) && echo ", timed out after $STEP_TIMEOUT s")); last lines:"
        tail -20 "$OUT/$name.log"
        WALL[$name]="failed"
        return 0                  # the other steps still run
    fi
    tail -3 "$OUT/$name.log"
}

step devices "$PY" -c "import jax; print('jax', jax.__version__, jax.devices())"
if [[ "${SMOKE:-0}" == 1 ]]; then    # the reproduce front end and registry, then a tiny run
    step fig2-quick bash -c "'$PY' -m qsntk.cli reproduce --list && '$PY' -m qsntk.cli supervised \
        --target tfim-quench --train-sizes 2400 ${CELL[*]} --out '$OUT/fig2-quick'"
else
    step fig2-quick "$PY" -m qsntk.cli reproduce luo2023-fig2 --quick --out "$OUT/fig2-quick"
fi
step cell-w5000 "$PY" -m qsntk.cli supervised --target tfim-quench --train-sizes 2400 \
    "${CELL[@]}" --out "$OUT/cell-w5000"
step ensemble-step "$PY" benchmarks/bench_ensemble.py "${BENCH[@]}" --out "$OUT/ensemble_step.json"

echo
echo "summary ($("$PY" -c 'import jax; print(jax.devices()[0].device_kind)'))"
printf '%-16s %8s\n' step "wall s"
for name in $STEPS; do
    printf '%-16s %8s\n' "$name" "${WALL[$name]:-not run}"
done
"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
cell, bench = out / "cell-w5000" / "metrics.json", out / "ensemble_step.json"
if cell.is_file():
    for name, c in json.loads(cell.read_text())["cells"].items():
        print(f"{name}: {c.get('wall_s', float('nan')):.1f} s of training, {c['steps'][-1]} epochs")
if bench.is_file():
    e = json.loads(bench.read_text())
    print(f"GEMM {e['gemm_n']}^3 float32 on {e['backend']} (matmul precision {e['matmul_precision']}): "
          f"{e['gemm_flops_per_s'] / 1e9:.0f} GFLOP/s")
    for r in e["rows"]:
        print(f"{r['path']}: {r['s_per_step']:.4f} s/step, {r['fraction_of_gemm']:.0%} of it")
EOF
