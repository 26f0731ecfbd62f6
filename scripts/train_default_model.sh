#!/usr/bin/env bash
# Recipe of the shipped default model models/disdepth_default.onnx (docs/default_model.md).
#
# The full DisDepth + Hu et al. pipeline on procedural synthetic rooms, on a CPU:
#   1. teacher-tiny (transformer) supervised        4. distill, two variants (in parallel):
#   2. the student (disdepth-mbv2 + LG-Conv)            kd            attentive feature KD through the
#      supervised (its decoder becomes the ghost)                     ghost decoder
#   3. acclimate: teacher encoder -> FAM -> frozen       kd_unlabeled  kd + output KD on auxiliary unlabeled
#      ghost decoder                                                  images (teacher pseudo-labels)
#   5. kd_long: kd distilled for 8 more epochs from its last weights
#   6. the variant with the lowest AbsRel on the validation scenes (seed 10000) is exported to ONNX
#      at 128x160 with its metadata; the held-out figures come from `disdepth eval-bag` (docs).
#
#   bash scripts/train_default_model.sh [RUN_DIR]      # default runs/default_model; about 60 min on 2 cores
#
# Every stage writes atomic checkpoints; re-running the script skips finished stages and resumes an
# interrupted one from its last checkpoint (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default_model}
DISDEPTH=${DISDEPTH:-.venv/bin/disdepth}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$RUN"

COMMON=(--set data.height=128 --set data.width=160 --set data.batch_size=8
        --set data.train.size=8192 --set data.train.seed=0
        --set data.val.size=64 --set data.val.seed=10000
        --set runtime.progress=false --set seed=0)
STUDENT=(--set model.name=disdepth-mbv2
         --set 'model.overrides={width_mult: 1.0, lgconv: true, lgconv_depthwise: false, max_depth: 10.0}')

# stage NAME COMMAND... : run the stage unless it finished; resume it when a checkpoint exists.
stage() {
    local name=$1
    shift
    local out=$RUN/$name
    if [ -f "$out/DONE" ]; then
        echo "[default_model] $name: done already ($out)"
        return
    fi
    local resume=()
    [ -f "$out/last.state.json" ] && resume=(--resume)
    echo "[default_model] $name: start $(date -u +%H:%M:%S)"
    "$@" --out "$out" "${resume[@]}" > "$RUN/$name.log" 2>&1 \
        || { echo "[default_model] $name failed: see $RUN/$name.log" >&2; return 1; }
    touch "$out/DONE"
    echo "[default_model] $name: done $(date -u +%H:%M:%S)"
}

stage teacher "$DISDEPTH" train config/train/teacher_synthetic.yaml "${COMMON[@]}" \
    --set runtime.threads=2 --epochs 12 --set optim.max_steps_per_epoch=200
stage student_supervised "$DISDEPTH" train config/train/student_synthetic.yaml "${COMMON[@]}" "${STUDENT[@]}" \
    --set runtime.threads=2 --epochs 6 --set optim.max_steps_per_epoch=150
stage acclimated "$DISDEPTH" acclimate config/train/acclimate_synthetic.yaml "${COMMON[@]}" \
    --set runtime.threads=2 --epochs 2 --set optim.max_steps_per_epoch=150 \
    --teacher "$RUN/teacher/last.safetensors" --student "$RUN/student_supervised/last.safetensors"
DISTILL=("$DISDEPTH" distill config/train/distill_synthetic.yaml "${COMMON[@]}" "${STUDENT[@]}"
         --set runtime.threads=1 --epochs 6 --set optim.max_steps_per_epoch=150
         --teacher "$RUN/acclimated/last.safetensors")
stage kd "${DISTILL[@]}" --set data.unlabeled.kind=none &
kd_pid=$!
stage kd_unlabeled "${DISTILL[@]}" --set 'data.unlabeled={kind: synthetic, size: 8192, seed: 20000, batch_size: 4}' &
kd_unlabeled_pid=$!
wait "$kd_pid"
wait "$kd_unlabeled_pid"
# 5. kd_long: kd distilled further from its last weights (same teacher and losses, 2 threads).
stage kd_long "${DISTILL[@]}" --set data.unlabeled.kind=none --set runtime.threads=2 --epochs 8 \
    --student-init "$RUN/kd/last.safetensors"

# Model selection on the validation scenes (seed 10000), never on the held-out test data.
best="" best_abs_rel=""
for name in kd kd_unlabeled kd_long; do
    abs_rel=$("$DISDEPTH" eval "$RUN/$name/last.safetensors" --dataset synthetic --synthetic-seed 10000 \
        --synthetic-size 64 --height 256 --width 320 --json --no-progress \
        | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["abs_rel"])')
    echo "[default_model] validation AbsRel $name: $abs_rel"
    if [ -z "$best" ] || "$PYTHON" -c "import sys; sys.exit(not $abs_rel < $best_abs_rel)"; then
        best=$name best_abs_rel=$abs_rel
    fi
done
echo "[default_model] shipping $best"
mkdir -p models
"$DISDEPTH" export "$RUN/$best/last.safetensors" --height 128 --width 160 -o models/disdepth_default.onnx

# Held-out figures (docs/default_model.md): every stage on the kd_synthetic test scenes (seed 30000,
# 256 rooms at 256x320), and the shipped ONNX file on a held-out synthetic camera bag (seed 123).
for name in teacher student_supervised kd kd_unlabeled kd_long; do
    "$DISDEPTH" eval "$RUN/$name/last.safetensors" --dataset synthetic --synthetic-seed 30000 \
        --synthetic-size 256 --height 256 --width 320 --json --no-progress > "$RUN/$name/test_metrics.json"
    echo "[default_model] test $name: $(cat "$RUN/$name/test_metrics.json")"
done
[ -d "$RUN/heldout_bag" ] || "$DISDEPTH" make-sample-bag "$RUN/heldout_bag" --frames 150 --seed 123
"$DISDEPTH" eval-bag "$RUN/heldout_bag" --model models/disdepth_default.onnx --image-topic /camera/image_raw \
    --depth-topic /camera/depth/image_raw --camera-info-topic /camera/camera_info \
    --out "$RUN/eval_heldout" --quiet
