"""Acclimate and distill stages: frozen ghost decoder, loadable checkpoints, KD variants, pseudo-labels."""

import json

import pytest
import torch
from train_fixtures import state_of, synthetic_batch, tiny_config, tiny_student, train_on_batch

from disdepth_core.models import build_model
from disdepth_core.models.checkpoint import is_acclimated, load_model, save_model
from disdepth_core.train.acclimated import load_acclimated, load_teacher
from disdepth_core.train.pseudo_labels import PseudoLabelCache
from disdepth_core.train.runner import build_stage, run_stage
from disdepth_core.train.stages.distill import DistillStage, pair_scales

TINY_TEACHER = {"embed_dims": [16, 32, 48, 64], "depths": [1, 1, 1, 1], "decoder_width": 32, "n_bins": 16}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A tiny teacher and student saved as checkpoints, and an acclimated teacher built from them."""
    root = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    teacher = save_model(root / "teacher.safetensors", build_model("teacher-tiny", **TINY_TEACHER))
    student = save_model(root / "student.safetensors", tiny_student())
    config = tiny_config(root / "acclimated", "acclimate", teacher=str(teacher), student=str(student))
    result = run_stage(config)
    return {"teacher": teacher, "student": student, "acclimated": result.last}


def test_acclimate_trains_fam_only_and_keeps_the_ghost_decoder(checkpoints):
    student, _ = load_model(checkpoints["student"])
    teacher, _ = load_model(checkpoints["teacher"])
    ghost, header = load_acclimated(checkpoints["acclimated"])
    assert header["student"]["model"] == "disdepth-mbv2" and header["freeze_teacher_encoder"] is True
    for name, module, reference in (
        ("decoder", ghost.decoder, student.decoder),
        ("head", ghost.head, student.head),
    ):
        for (key, a), b in zip(module.state_dict().items(), reference.state_dict().values(), strict=True):
            assert torch.equal(a, b), f"ghost {name}.{key} changed"
    for (key, a), b in zip(ghost.teacher.state_dict().items(), teacher.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"frozen teacher {key} changed"
    fresh = build_stage(
        tiny_config(
            "unused", "acclimate", teacher=str(checkpoints["teacher"]), student=str(checkpoints["student"])
        )
    )
    changed = [
        not torch.equal(a, b)
        for a, b in zip(ghost.fam.parameters(), fresh.ghost.fam.parameters(), strict=True)
    ]
    assert any(changed), "FAM did not train"


def test_acclimate_finetuning_the_teacher_keeps_the_ghost_decoder(checkpoints, tmp_path):
    config = tiny_config(
        tmp_path / "ft",
        "acclimate",
        teacher=str(checkpoints["teacher"]),
        student=str(checkpoints["student"]),
        **{"acclimate.freeze_teacher_encoder": "false"},
    )
    stage = build_stage(config)
    before = state_of(stage.ghost)
    optimizer = torch.optim.AdamW(stage.trainable_parameters(), lr=1e-2)
    loss, _ = stage(synthetic_batch())
    loss.backward()
    optimizer.step()
    after = stage.ghost.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("decoder.", "head.")))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("teacher.encoder."))


def test_acclimated_checkpoint_is_recognised(checkpoints):
    assert is_acclimated(checkpoints["acclimated"]) and not is_acclimated(checkpoints["teacher"])
    assert load_teacher(checkpoints["acclimated"]).ghost is not None
    assert load_teacher(checkpoints["teacher"]).ghost is None


def test_distill_end_to_end_with_cached_pseudo_labels(checkpoints, tmp_path):
    sets = {
        "teacher": str(checkpoints["acclimated"]),
        "data.unlabeled": "{kind: synthetic, size: 4, seed: 99, batch_size: 2}",
        "optim.epochs": 2,
    }
    result = run_stage(tiny_config(tmp_path / "distill", "distill", **sets))
    student, metadata = load_model(result.last)
    assert student.name == "disdepth-mbv2" and metadata["teacher"] == str(checkpoints["acclimated"])
    labels = list((tmp_path / "distill" / "pseudo_labels").rglob("*.npy"))
    assert len(labels) == 4, "each unlabeled image is labeled once"
    history = [r for r in map(json.loads, (tmp_path / "distill" / "history.jsonl").read_text().splitlines())]
    assert all({"feature_kd", "output_kd"} <= set(r) for r in history if r["tag"] == "train")


@pytest.mark.parametrize(
    ("feature_kd", "ghost", "teacher_key"),
    [
        ("attentive", True, "acclimated"),
        ("mse", True, "acclimated"),
        ("none", True, "acclimated"),
        ("attentive", False, "teacher"),
        ("mse", False, "acclimated"),
    ],
)
def test_distill_variants_reduce_the_loss_on_a_fixed_batch(checkpoints, feature_kd, ghost, teacher_key):
    config = tiny_config(
        "unused",
        "distill",
        teacher=str(checkpoints[teacher_key]),
        **{
            "distill.feature_kd": feature_kd,
            "distill.ghost": str(ghost).lower(),
            "distill.labeled_output_weight": 0.5,
        },
    )
    stage = build_stage(config)
    assert isinstance(stage, DistillStage)
    frozen_before = state_of(stage.frozen)
    losses, parts = train_on_batch(stage, synthetic_batch(), 5)
    assert ("feature_kd" in parts) == (feature_kd != "none") and "output_kd_labeled" in parts
    assert losses[-1] < losses[0]
    assert all(torch.equal(v, stage.frozen.state_dict()[k]) for k, v in frozen_before.items())
    assert not any(p.requires_grad for p in stage.frozen.parameters())


def test_ghost_distillation_needs_an_acclimated_teacher(checkpoints):
    config = tiny_config("unused", "distill", teacher=str(checkpoints["teacher"]))
    with pytest.raises(ValueError, match="disdepth acclimate"):
        build_stage(config)


def test_student_init_is_loaded(checkpoints):
    config = tiny_config(
        "unused", "distill", teacher=str(checkpoints["acclimated"]), student=str(checkpoints["student"])
    )
    stage = build_stage(config)
    reference, _ = load_model(checkpoints["student"])
    assert all(
        torch.equal(a, b)
        for a, b in zip(stage.student.state_dict().values(), reference.state_dict().values(), strict=True)
    )


def test_pair_scales_by_stride():
    assert pair_scales((2, 4, 8, 16, 32), (4, 8, 16, 32)) == [1, 2, 3, 4]
    assert pair_scales((4, 8), (2, 16, 64)) == [0, 1, 1]


class _CountingTeacher:
    def __init__(self):
        self.images = 0

    def __call__(self, images):
        self.images += images.shape[0]
        return images[:, :1].abs() + 0.123456789


def test_pseudo_label_cache_hits_and_misses(tmp_path):
    teacher = _CountingTeacher()
    cache = PseudoLabelCache(teacher, tmp_path, "ns")
    images = torch.randn(3, 3, 8, 8)
    first = cache(images, [0, 1, 2], ["a", "b", "c"])
    assert (cache.hits, cache.misses, teacher.images) == (0, 3, 3)
    second = cache(images, torch.tensor([0, 1, 2]), ["a", "b", "c"])
    assert (cache.hits, cache.misses, teacher.images) == (3, 3, 3)
    assert torch.equal(first, second) and first.dtype == torch.float32
    assert torch.equal(first, first.half().float()), "labels are rounded through float16 either way"
    cache(images[:1], [0], ["changed-image"])
    assert cache.misses == 4, "a different image hash is a miss"
    (tmp_path / "ns" / "00000001-b.npy").write_bytes(b"garbage")
    cache(images[1:2], [1], ["b"])
    assert cache.misses == 5, "an unreadable cache file is recomputed"


def test_pseudo_labels_without_cache_dir_always_run_the_teacher():
    teacher = _CountingTeacher()
    cache = PseudoLabelCache(teacher, None, "ns")
    for _ in range(2):
        cache(torch.randn(2, 3, 8, 8), [0, 1], ["a", "b"])
    assert teacher.images == 4 and cache.hits == 0
