"""`disdepth distill-bag` end to end on tiny synthetic bags with tiny random teachers (nothing downloaded)."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import yaml
from safetensors import safe_open

from disdepth_core.cli.main import main
from disdepth_core.models import build_model
from disdepth_core.models.checkpoint import ACCLIMATED_KEY, load_model
from disdepth_core.models.normalization import IMAGENET_MEAN, IMAGENET_STD
from disdepth_core.models.weights import load_imagenet_encoder
from disdepth_core.recipes.distill_bag.pipeline import STAGES
from disdepth_core.runtime import load_estimator

transformers = pytest.importorskip("transformers", reason="transformers is not installed")

from teacher_fixtures import TOPICS, save_tiny_hf, write_camera_bag  # noqa: E402

# A tiny head for any student; TINY adds a tiny MobileNetV2 student (the default student is disdepth-lite0).
TINY_HEAD = ["--quick", "--threads", "1", "--no-progress", "--set", "model.overrides.decoder_width=32",
             "--set", "model.overrides.n_bins=16", "--set", "model.overrides.bins_hidden=16"]  # fmt: skip
TINY = [*TINY_HEAD, "--student", "disdepth-mbv2", "--set", "model.overrides.width_mult=0.35"]


def _command(bag, teacher, out, *extra, tiny=TINY):
    topic = ["--image-topic", TOPICS["image"]]
    return ["distill-bag", str(bag), *topic, "--teacher", teacher, "--out", str(out), *tiny, *extra]


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("distill_bag")
    return {
        "teacher": save_tiny_hf("depth_anything_metric", root / "da_metric"),
        "relative": save_tiny_hf("depth_anything_relative", root / "da_relative"),
        "bag": write_camera_bag(root / "bag", frames=16, depth="dense"),
    }


def test_distill_bag_with_a_depth_anything_teacher(assets, tmp_path, capsys):
    run = tmp_path / "run"
    with_topics = ["--depth-topic", TOPICS["depth"], "--camera-info-topic", TOPICS["camera_info"]]
    start = time.process_time()  # CPU time: wall time on a shared CI machine measures the other jobs too
    assert main(_command(assets["bag"], f"hf:{assets['teacher']}", run, *with_topics)) == 0
    assert time.process_time() - start < 120, "the quick run must finish in under two minutes"
    out = capsys.readouterr().out
    for index, stage in enumerate(STAGES, 1):
        assert sum(line.startswith(f"[distill-bag] {index}/8 {stage}:") for line in out.splitlines()) == 1
    assert (run / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    estimator = load_estimator(run / "student.onnx")  # what the depth node does with model_path
    info = estimator.info
    assert (
        info.extra["teacher"] == f"hf:{assets['teacher']}" and info.extra["teacher_licence"] == "apache-2.0"
    )
    assert info.camera_aware and json.loads(info.extra["training_data"])["image_topic"] == TOPICS["image"]
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    depth = estimator.predict(image, fx=60.0).depth
    assert depth.shape == (48, 64) and np.isfinite(depth).any()

    card = json.loads((run / "model_card.json").read_text())
    assert card["teacher"]["licence"] == "apache-2.0" and card["teacher"]["features"] is True
    data = card["data"]
    assert data["images"] == 16 and data["train"] + data["heldout"] + data["dropped_in_gap"] == 16
    assert data["images_with_depth"] == 16 and data["topics"]["depth"] == TOPICS["depth"]
    assert card["scale"]["source"] == "none" and card["scale"]["teacher_vs_depth_topic"]["heldout"]
    for key in ("student_vs_teacher", "student_vs_depth_topic", "teacher_vs_depth_topic"):
        assert card["metrics"][key]["raw"]["n_images"] == data["heldout"]
    assert card["latency_ms"]["total_p50"] > 0 and card["model"]["input_hw"] == [
        48,
        64,
    ]  # the camera aspect, multiples of 16
    assert set(json.loads((run / "summary.json").read_text())["stages"]) == set(STAGES)

    split = json.loads((run / "split.json").read_text())
    index = {
        f["id"]: f["stamp_ns"]
        for f in json.loads((run / "pseudo_labels" / "index.json").read_text())["frames"]
    }
    train = [index[int(i)] for i, s in split.items() if s == "train"]
    held = [index[int(i)] for i, s in split.items() if s == "heldout"]
    assert held and max(train) < min(held), (
        "held out by time: every held-out frame after every training frame"
    )

    with safe_open(str(run / "acclimate" / "last.safetensors"), framework="pt") as handle:
        assert not [k for k in handle.keys() if k.startswith("teacher.")]  # noqa: SIM118
        assert json.loads(handle.metadata()[ACCLIMATED_KEY])["teacher"]["kind"] == "hf"

    before = (run / "student.onnx").stat().st_mtime_ns
    assert main(_command(assets["bag"], f"hf:{assets['teacher']}", run, *with_topics, "--resume")) == 0
    resumed = capsys.readouterr().out
    assert resumed.count(": done (") == len(STAGES) and (run / "student.onnx").stat().st_mtime_ns == before
    assert (
        main(
            _command(assets["bag"], f"hf:{assets['teacher']}", run, *with_topics, "--every", "2", "--resume")
        )
        == 2
    )
    assert "options differ" in capsys.readouterr().err
    assert main(_command(assets["bag"], f"hf:{assets['teacher']}", run, *with_topics)) == 2
    assert "pass --resume" in capsys.readouterr().err


def _relative_onnx_teacher(root):
    """An ONNX export of a tiny student, declared a relative-depth teacher by its card (no features)."""
    from train_fixtures import tiny_student

    from disdepth_core.export.onnx_export import export_onnx

    teacher = export_onnx(tiny_student(), root / "teacher.onnx", 64, 64).path
    card = {"input_height": 64, "input_width": 64, "layout": "NCHW", "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD), "output": "relative_depth", "licence": "test-only",
            "output_name": "depth"}  # fmt: skip
    (root / "teacher.teacher.json").write_text(json.dumps(card))
    return teacher


@pytest.mark.slow
def test_onnx_relative_teacher_scaled_from_a_sparse_depth_topic(tmp_path, capsys):
    """An ONNX export of our own model declared relative by its card; the sparse depth topic is 2.5 x its
    output, so the per-frame topic alignment must find 2.5 on every frame. The default student
    (ImageNet disdepth-lite0) is distilled with crop + rescale and the SSI loss, and also scored on extra
    RGB-D frames of two sources."""
    teacher = _relative_onnx_teacher(tmp_path)
    session = ort.InferenceSession(str(teacher), providers=["CPUExecutionProvider"])

    def consistent_depth(image, _true_depth):  # the teacher's own output (independent ORT path), x 2.5
        small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        x = ((small - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)).transpose(2, 0, 1)[None]
        raw = session.run(["depth"], {"image": x.astype(np.float32)})[0][0, 0]
        return 2.5 * cv2.resize(raw, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)

    bag = write_camera_bag(
        tmp_path / "bag", frames=12, height=96, width=96, depth="sparse", depth_of=consistent_depth
    )
    frames = tmp_path / "rgbd"
    frames.mkdir()
    for name in ("indoor_000", "outdoor_000", "outdoor_001"):
        rng = np.random.default_rng(len(name))
        np.savez(frames / f"{name}.npz", rgb=rng.integers(0, 256, (48, 80, 3), dtype=np.uint8),
                 depth=rng.uniform(1, 8, (48, 80)).astype(np.float32), K=np.zeros((3, 3)))  # fmt: skip
    run = tmp_path / "run"
    extra = ["--depth-topic", TOPICS["depth"], "--scale", "topic:median", "--width", "64", "--height", "64",
             "--eval-data", str(frames), "--max-zoom", "1.4", "--ssi-weight", "0.5"]  # fmt: skip
    assert main(_command(bag, f"onnx:{teacher}", run, *extra, tiny=TINY_HEAD)) == 0
    out = capsys.readouterr().out
    assert "5/8 acclimate: skipped" in out and "6/8 distill: skipped" in out
    evaluate_line = next(line for line in out.splitlines() if line.startswith("[distill-bag] 8/8"))
    assert (
        "evaluate: fidelity, student vs teacher on the held-out tail: median-aligned AbsRel" in evaluate_line
    )
    labels = json.loads((run / "pseudo_labels" / "labels.json").read_text())
    assert labels["per_frame_fits"] == 12 and labels["global_fallback"] == 0
    scales = [frame["scale"]["scale"] for frame in labels["frames"].values()]
    assert np.allclose(scales, 2.5, rtol=0.03), scales
    assert labels["quality"]["heldout"]["raw"]["abs_rel"] < 0.05
    card = json.loads((run / "model_card.json").read_text())
    assert card["teacher"]["licence"] == "test-only" and card["teacher"]["features"] is False
    assert card["scale"]["source"] == "topic:median" and "skipped" in card["training"]["distill"]

    assert next(iter(card)) == "fidelity", "fidelity is the card's first entry"
    fidelity = card["fidelity"]
    for where, frames_scored in (("heldout", card["heldout_frames"]), ("eval_data", 3)):
        assert set(fidelity[where]) >= {"median", "lsq_scale_shift_inv"}  # relative teacher: both
        assert fidelity[where]["frames"] == frames_scored and fidelity[where]["coverage"] == 1.0
    assert set(card["eval_data"]["by_source"]["student_vs_ground_truth"]) == {"indoor", "outdoor"}
    model = card["model"]
    assert model["architecture"] == "disdepth-lite0" and model["start_weights"] == "imagenet encoder"
    warmup = yaml.safe_load((run / "warm-up" / "config.yaml").read_text())
    assert warmup["optim"]["encoder_lr_scale"] == 0.1 == model["encoder_lr_scale"]
    assert warmup["data"]["max_zoom"] == 1.4 and warmup["loss"]["ssi_weight"] == 0.5
    # the warm-up started from the ImageNet encoder (3 steps at a tenth of a small rate barely move it)
    imagenet = build_model("disdepth-lite0")
    load_imagenet_encoder(imagenet)
    trained, _ = load_model(run / "warm-up" / "last.safetensors")
    stem = "encoder.features.0.0.host.weight"  # the stem conv inside its LG-Conv
    start = imagenet.state_dict()[stem]
    assert (
        (trained.state_dict()[stem] - start).abs().max()
        < 1e-3
        < (build_model("disdepth-lite0").state_dict()[stem] - start).abs().max()
    )


def test_the_warm_up_student_stands_in_for_a_featureless_teacher(assets, tmp_path, capsys):
    """``--assistant warm-up``: the ghost-decoder stages run with the warm-up student's features,
    acclimated to the ONNX teacher's pseudo-labels; the exported student is the distilled one."""
    teacher = _relative_onnx_teacher(tmp_path)
    run = tmp_path / "run"
    extra = ["--scale", "fixed:2", "--assistant", "warm-up"]
    assert main(_command(assets["bag"], f"onnx:{teacher}", run, *extra)) == 0
    out = capsys.readouterr().out
    assert "skipped" not in out
    header = json.loads((run / "acclimate" / "last.json").read_text())
    assert header["teacher"]["model"] == "disdepth-mbv2"  # the warm-up student is the feature teacher
    distilled = json.loads((run / "distill" / "last.json").read_text())["metadata"]["config"]
    assert distilled["teacher"] == str(run / "acclimate" / "last.safetensors")
    assert distilled["distill"]["feature_kd"] == "attentive"
    card = json.loads((run / "model_card.json").read_text())
    assert card["teacher"]["assistant"] == "warm-up" and card["training"]["distill"]["steps"] >= 3
    assert load_estimator(run / "student.onnx").info.recipe == "disdepth distill-bag distill"
    assert main(_command(assets["bag"], f"hf:{assets['teacher']}", tmp_path / "x", *extra)) == 2
    assert "has its own: drop --assistant" in capsys.readouterr().err


def test_clear_one_line_errors(assets, tmp_path, capsys):
    teacher = f"hf:{assets['teacher']}"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "depth_anything"}')
    cases = [
        (
            _command(assets["bag"], teacher, tmp_path / "a", "--depth-topic", "/missing"),
            "has no topic '/missing'",
        ),
        (_command(assets["bag"], f"hf:{broken}", tmp_path / "b"), "cannot be loaded"),
        (
            _command(assets["bag"], f"hf:{assets['relative']}", tmp_path / "c"),
            "declare a metric scale source",
        ),
        (_command(assets["bag"], teacher, tmp_path / "d", "--max-frames", "3"), "too few frames"),
        (_command(assets["bag"], teacher, tmp_path / "e", "--scale", "topic"), "needs --depth-topic"),
        (
            _command(assets["bag"], teacher, tmp_path / "f", "--student", "nope"),
            "--student nope: unknown model 'nope'",
        ),
        (
            _command(assets["bag"], teacher, tmp_path / "g", "--pretrained", "imagenet"),
            "no packaged ImageNet",
        ),
        (_command(assets["bag"], teacher, tmp_path / "h", "--eval-data", str(tmp_path)), "holds no .npz"),
        (_command(assets["bag"], teacher, tmp_path / "i", "--max-zoom", "0.5"), "--max-zoom must be >= 1"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err


def test_every_argument_is_checked_before_the_first_stage(assets, tmp_path, capsys):
    """Bad arguments and a corrupt ONNX teacher: one line, exit 2, and no stage ran (no run directory)."""
    teacher = f"hf:{assets['teacher']}"
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    existing_file = tmp_path / "README.md"
    existing_file.write_text("not a run directory")
    out = tmp_path / "run"
    cases = [
        (_command(assets["bag"], f"onnx:{corrupt}", out), f"{corrupt} is not a readable ONNX model"),
        (_command(assets["bag"], str(corrupt), out), f"{corrupt} is not a readable ONNX model"),
        (_command(assets["bag"], teacher, out, "--student", "mbv2"), "--student mbv2: unknown model 'mbv2'"),
        (
            _command(assets["bag"], teacher, out, "--width", "100"),
            "--width must be a positive multiple of 16, got 100",
        ),
        (_command(assets["bag"], teacher, existing_file), f"--out {existing_file} is an existing file"),
        (_command(assets["bag"], teacher, out, "--set", "optim.speed=2"), "unknown key(s) ['optim.speed']"),
        (
            _command(assets["bag"], teacher, out, "--set", "model.overrides.depth=2"),
            "unknown config keys ['depth']",
        ),
        (_command(assets["bag"], teacher, out, "--heldout", "1.5"), "--heldout must be in (0, 1), got 1.5"),
        (
            _command(assets["bag"], teacher, out, "--student-init", str(out / "x.safetensors")),
            "does not exist",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert not out.exists(), f"{argv}: a stage ran"
        assert "16x100" not in err  # the user gave no height
    assert main(["teacher", "info", f"onnx:{corrupt}"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{corrupt} is not a readable ONNX model" in err and len(err.splitlines()) == 1, err


def _ddp_rank(rank: int, port: int, bag: str, teacher: str, out: str) -> None:
    import os

    import torch

    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1",
         "MASTER_PORT": str(port)}
    )  # fmt: skip
    torch.set_num_threads(1)
    code = main(_command(bag, teacher, out, "--depth-topic", TOPICS["depth"], "--device", "cpu"))
    if code != 0:
        raise SystemExit(code)


@pytest.mark.slow
def test_two_gloo_ranks_share_the_pseudo_labels_and_train_together(assets, tmp_path, capsys):
    """torchrun-style DDP on CPU: each rank labels half of the frames, rank 0 alone exports and reports."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "ddp"
    mp.spawn(_ddp_rank, args=(port, str(assets["bag"]), f"hf:{assets['teacher']}", str(run)), nprocs=2)
    stages = json.loads((run / "progress.json").read_text())
    assert "computed 8," in stages["pseudo-labels"]["line"], "each of the two ranks labels 8 of the 16 frames"
    assert len(list((run / "pseudo_labels" / "frames").glob("*.npz"))) == 16
    assert (
        stages["distill"]["steps"] >= 1
        and (run / "student.onnx").is_file()
        and (run / "model_card.json").is_file()
    )


def test_start_weights_and_encoder_rate_follow_the_student(tmp_path):
    """ImageNet weights where the student has them (auto), the lower encoder rate only for an encoder
    that starts from learned weights, explicit choices win."""
    from disdepth_core.recipes.distill_bag.options import DistillBagOptions

    def options(**kwargs):
        return DistillBagOptions(bags=[tmp_path], image_topic="/i", teacher="t", out=tmp_path, **kwargs)

    assert options().imagenet_encoder() and options().encoder_rate() == 0.1
    mbv2 = options(student="disdepth-mbv2")
    assert not mbv2.imagenet_encoder() and mbv2.encoder_rate() == 1.0
    (tmp_path / "s.safetensors").write_bytes(b"")  # only its existence is checked here
    init = options(student="disdepth-mbv2", student_init=tmp_path / "s.safetensors")
    assert not init.imagenet_encoder() and init.encoder_rate() == 0.1
    assert (
        not options(pretrained="none").imagenet_encoder() and options(pretrained="none").encoder_rate() == 1.0
    )
    assert options(encoder_lr_scale=0.5).encoder_rate() == 0.5
    assert (
        options().ssi_rate("metric_depth") == 0.0 and options(ssi_weight=2.0).ssi_rate("metric_depth") == 2.0
    )
    assert (
        options().ssi_rate("relative_depth") == 1.0 and options(ssi_weight=0).ssi_rate("relative_depth") == 0
    )
