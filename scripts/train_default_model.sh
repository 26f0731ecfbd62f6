#!/usr/bin/env bash
# The camera-aware default-model recipe (docs/experiments/default_model_history.md). Its runs so far did
# not beat the shipped models/disdepth_default.onnx, which this script's previous version made (commit
# e73adc6, docs/default_model.md). By default it exports over that file: set OUT_MODEL to keep it.
#
# A camera-aware disdepth-lite0 student (EfficientNet-Lite0 with ImageNet weights + LG-Conv, fusion
# decoder, bins head; 192x256 input; depth for a canonical focal length of 200 px, rescaled at run time
# by the camera's fx), trained only on data whose licence allows shipping the weights:
#   1. student    supervised on procedural rooms and streets (disdepth_core.data.synthetic, as it is
#                 in this checkout: photograph textures, camera effects), random focal lengths by
#                 crop + resize zoom (config/train/student_lite0_camera.yaml)
#   2. selftrain  (when the rtabmap images are there) the student keeps training on synthetic ground
#                 truth plus its own cached pseudo-labels on real robot images from rtabmap's samples
#                 (BSD-3-Clause) (config/train/selftrain_lite0_real.yaml)
#   3. figures    every stage on held-out synthetic scenes (seed 30000, rooms + streets) and, for model
#                 selection only, on the real RGB-D frames of real_dev (never trained on)
#   4. export     the stage with the lowest raw AbsRel on real_dev (synthetic AbsRel without real_dev)
#                 to ONNX at 192x256 with its metadata, then the held-out synthetic camera bag.
#
#   bash scripts/train_default_model.sh [RUN_DIR]       # default runs/default_model
#   EPOCHS=12 STEPS=400 bash scripts/train_default_model.sh runs/dm   # longer / shorter runs
#
# Environment: EPOCHS, STEPS (student epochs x optimizer steps per epoch), SELF_EPOCHS, SELF_STEPS,
# THREADS, REAL_DEV, REAL_UNLABELED (the ../shared/data folders), OUT_MODEL (the exported file),
# DISDEPTH and PYTHON (the venv's). Every stage writes atomic checkpoints; re-running the script
# skips finished stages and resumes an interrupted one from its last checkpoint (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default_model}
DISDEPTH=${DISDEPTH:-.venv/bin/disdepth}
PYTHON=${PYTHON:-.venv/bin/python}
EPOCHS=${EPOCHS:-10}
STEPS=${STEPS:-300}
SELF_EPOCHS=${SELF_EPOCHS:-4}
SELF_STEPS=${SELF_STEPS:-150}
THREADS=${THREADS:-2}
REAL_DEV=${REAL_DEV:-../shared/data/real_dev}
REAL_UNLABELED=${REAL_UNLABELED:-../shared/data/real_unlabeled}
OUT_MODEL=${OUT_MODEL:-models/disdepth_default.onnx}
mkdir -p "$RUN"

COMMON=(--set data.height=192 --set data.width=256 --set data.batch_size=8
        --set data.train.seed=0 --set data.val.seed=10000 --set data.val.size=64
        --set runtime.progress=false --set runtime.threads="$THREADS" --set seed=0)
# Scene textures: scikit-image's photographs, plus rtabmap's (BSD-3-Clause) and manydepth's (CC BY 3.0)
# images when the real_unlabeled folder is there (docs/data.md).
if [ -d "$REAL_UNLABELED/rtabmap" ] && [ -d "$REAL_UNLABELED/manydepth" ]; then
    COMMON+=(--set 'data.train.textures=[scikit-image, rtabmap, manydepth]'
             --set data.train.real_unlabeled="$REAL_UNLABELED")
fi

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

stage student "$DISDEPTH" train config/train/student_lite0_camera.yaml "${COMMON[@]}" \
    --epochs "$EPOCHS" --set optim.max_steps_per_epoch="$STEPS"
stages=(student)
if [ -d "$REAL_UNLABELED/rtabmap" ]; then
    stage selftrain "$DISDEPTH" distill config/train/selftrain_lite0_real.yaml "${COMMON[@]}" \
        --epochs "$SELF_EPOCHS" --set optim.max_steps_per_epoch="$SELF_STEPS" \
        --set data.unlabeled.path="$REAL_UNLABELED/rtabmap" \
        --teacher "$RUN/student/last.safetensors" --student-init "$RUN/student/last.safetensors"
    stages+=(selftrain)
else
    echo "[default_model] selftrain skipped: no $REAL_UNLABELED/rtabmap"
fi

# Figures of every stage (all alignment modes, per source / scene kind) through the runtime.
real_dev=(--no-real-dev)
[ -d "$REAL_DEV" ] && real_dev=(--real-dev "$REAL_DEV")
for name in "${stages[@]}"; do
    scores=$RUN/$name/scores.json
    [ -f "$scores" ] || "$PYTHON" benchmarks/score_models.py "$RUN/$name/last.safetensors" "${real_dev[@]}" \
        --synthetic 128 --synthetic-seed 30000 --height 240 --width 320 --threads "$THREADS" \
        --out "$scores" > "$RUN/$name/scores.txt"
    echo "[default_model] figures of $name: $RUN/$name/scores.txt"
done

# Selection: raw AbsRel on real_dev (the robot's real cameras), else on the synthetic test scenes.
best=$("$PYTHON" - "$RUN" "${stages[@]}" <<'EOF'
import json, sys
run, stages = sys.argv[1], sys.argv[2:]
def score(name):
    results = json.load(open(f"{run}/{name}/scores.json"))
    key = "real_dev" if "real_dev" in results else "synthetic"
    return results[key][0]["summary"]["raw"]["abs_rel"], key
ranked = sorted(stages, key=lambda name: score(name)[0])
for name in stages:
    print(f"[default_model] raw AbsRel of {name} on {score(name)[1]}: {score(name)[0]:.4f}", file=sys.stderr)
print(ranked[0])
EOF
)
echo "[default_model] shipping $best"
mkdir -p "$(dirname "$OUT_MODEL")"
"$DISDEPTH" export "$RUN/$best/last.safetensors" --height 192 --width 256 -o "$OUT_MODEL"

# The exported file on a held-out synthetic camera recording (seed 123), through the node's own path.
[ -d "$RUN/heldout_bag" ] || "$DISDEPTH" make-sample-bag "$RUN/heldout_bag" --frames 150 --seed 123
"$DISDEPTH" eval-bag "$RUN/heldout_bag" --model "$OUT_MODEL" --image-topic /camera/image_raw \
    --depth-topic /camera/depth/image_raw --camera-info-topic /camera/camera_info \
    --out "$RUN/eval_heldout" --quiet
