"""eval-bag on generated bags: storages, raw/compressed, with/without GT, stamp pairing, damage, outputs."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("onnxruntime")

from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image

from disdepth_core.bags import BagError, open_bag, stamp_ns
from disdepth_core.cli.main import main
from disdepth_core.evaluation import ALIGNMENTS, METRIC_KEYS
from disdepth_core.image_encodings import decode_depth
from disdepth_ros.bag_messages import MessageBagWriter, read_message
from disdepth_ros.commands.eval_bag.config import EvalConfig
from disdepth_ros.commands.eval_bag.evaluate import evaluate_bag, output_topic
from disdepth_ros.commands.eval_bag.results import write_results
from disdepth_ros.commands.sample_bag.recording import TOPICS, SampleBagSpec, write_sample_bag
from disdepth_ros.conversions import compressed_msg_to_rgb

H, W, FRAMES = 64, 96, 6


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained hu-lite student exported to ONNX at the test image size (static input)."""
    torch = pytest.importorskip("torch")
    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.models import build_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    export_onnx(build_model("hu-lite", max_depth=10.0), path, H, W, trained=False)
    return path


@pytest.fixture(scope="session")
def bags(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bags")
    made = {}
    for storage in ("mcap", "sqlite3"):
        for compressed in (False, True):
            spec = SampleBagSpec(frames=FRAMES, height=H, width=W, storage=storage, compressed=compressed)
            made[storage, compressed] = write_sample_bag(
                root / f"{storage}_{compressed}", spec, progress=False
            )
    return made


def _config(bag, model, out, **kwargs) -> EvalConfig:
    compressed = kwargs.pop("compressed", False)
    defaults = {
        "image_topic": TOPICS["compressed"] if compressed else TOPICS["image"],
        "depth_topic": TOPICS["depth"],
        "camera_info_topic": TOPICS["camera_info"],
    }
    return EvalConfig(bag=Path(bag), model=Path(model), out_dir=Path(out), **{**defaults, **kwargs})


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("compressed", [False, True])
def test_eval_with_ground_truth(bags, tiny_model, tmp_path, storage, compressed):
    config = _config(bags[storage, compressed], tiny_model, tmp_path / "out", compressed=compressed)
    result = evaluate_bag(config, progress=False)
    paths = write_results(result, config.out_dir)
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["complete"] and summary["error"] is None
    assert summary["frames"] == {
        "read": FRAMES,
        "predicted": FRAMES,
        "paired": FRAMES,
        "unpaired": 0,
        "failed": 0,
        "gt_read": FRAMES,
    }
    assert summary["model"]["backend"] in ("onnxruntime", "openvino")  # auto: openvino where installed
    assert summary["latency_ms"]["p95"] >= summary["latency_ms"]["p50"] > 0
    for name in ALIGNMENTS:
        assert set(METRIC_KEYS) <= set(summary["metrics"][name])
        assert summary["metrics"][name]["n_images"] == FRAMES
    assert summary["metrics"]["median"]["abs_rel"] < summary["metrics"]["raw"]["abs_rel"]  # untrained scale
    assert summary["metrics"]["coverage"]["prediction"] == 1.0
    assert sum(summary["failures"]["counts"].values()) == 0
    lines = paths["frames.csv"].read_text().splitlines()
    assert len(lines) == FRAMES + 1 and lines[0].startswith("index,stamp_ns,status,paired")
    assert paths["report.png"].stat().st_size > 10_000


def _camera_connections(reader) -> list:
    """The sample bag's camera topics (image, camera_info, depth), not its TF."""
    return [c for c in reader.connections if not c.topic.startswith("/tf")]


def _bag_frames_to_npz(bag: Path, folder: Path) -> int:
    """The bag's image/ground-truth/K triples as an RGB-D .npz folder (what `disdepth eval` reads)."""
    folder.mkdir()
    images, depths, infos = {}, {}, {}
    with open_bag(bag) as reader:
        wanted = [
            c
            for c in reader.connections
            if c.topic in (TOPICS["compressed"], TOPICS["depth"], TOPICS["camera_info"])
        ]
        for conn, _, data in reader.messages(connections=wanted):
            msg = read_message(data, conn.msgtype, conn.topic, bag)
            stamp = stamp_ns(msg.header.stamp)
            if conn.topic == TOPICS["compressed"]:
                images[stamp] = compressed_msg_to_rgb(msg)
            elif conn.topic == TOPICS["depth"]:
                depths[stamp] = decode_depth(msg.encoding, msg.height, msg.width, msg.step, msg.data, False)
            elif conn.topic == TOPICS["camera_info"]:
                infos[stamp] = np.asarray(msg.k).reshape(3, 3)
    for i, stamp in enumerate(sorted(images)):
        np.savez(folder / f"bag_{i:03d}.npz", rgb=images[stamp], depth=depths[stamp], K=infos[stamp])
    return len(images)


def test_eval_bag_and_eval_agree_in_every_alignment_mode(bags, tiny_model, tmp_path, capsys):
    """The same frames through `disdepth eval-bag` and through `disdepth eval` give identical metrics."""
    bag = bags["mcap", True]
    assert _bag_frames_to_npz(bag, tmp_path / "frames") == FRAMES
    out = tmp_path / "bag_eval"
    common = ["--model", str(tiny_model), "--min-depth", "0.1", "--max-depth", "8"]
    assert (
        main(
            [
                "eval-bag",
                str(bag),
                "--image-topic",
                TOPICS["compressed"],
                "--depth-topic",
                TOPICS["depth"],
                "--camera-info-topic",
                TOPICS["camera_info"],
                "--out",
                str(out),
                "--quiet",
                *common,
            ]
        )
        == 0
    )
    from_bag = json.loads((out / "summary.json").read_text())["metrics"]
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                common[1],
                "--dataset",
                "rgbd",
                "--data-root",
                str(tmp_path / "frames"),
                "--min-depth",
                "0.1",
                "--max-depth",
                "8",
                "--json",
                "--no-progress",
            ]
        )
        == 0
    )
    from_eval = json.loads(capsys.readouterr().out)
    for mode in ALIGNMENTS:
        assert from_bag[mode]["n_images"] == from_eval[mode]["n_images"] == FRAMES
        for key in METRIC_KEYS:
            assert from_bag[mode][key] == pytest.approx(from_eval[mode][key], rel=1e-6, abs=1e-9), (mode, key)
    assert from_bag["coverage"] == pytest.approx(from_eval["coverage"])


def test_failing_backend_call_is_counted_and_the_report_is_written(bags, tiny_model, tmp_path):
    from disdepth_core.runtime import load_estimator

    estimator = load_estimator(tiny_model)
    real_infer, calls = estimator.backend.infer, {"n": 0}

    def flaky(batch):
        calls["n"] += 1
        if calls["n"] in (2, 4):
            raise RuntimeError("simulated backend failure")
        return real_infer(batch)

    estimator.backend.infer = flaky
    config = _config(bags["mcap", False], tiny_model, tmp_path / "out")
    result = evaluate_bag(config, estimator=estimator, progress=False)
    paths = write_results(result, config.out_dir)
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["complete"] and summary["frames"]["failed"] == 2
    assert summary["frames"]["predicted"] == summary["frames"]["paired"] == FRAMES - 2
    assert summary["failures"]["counts"]["backend"] == 2
    listed = summary["failures"]["listed"]
    assert [f["cause"] for f in listed] == ["backend", "backend"] and "simulated" in listed[0]["reason"]
    assert listed[0]["topic"] == TOPICS["image"] and listed[0]["stamp_ns"] == result.rows[1]["stamp_ns"]
    assert result.rows[1]["status"].startswith("backend: RuntimeError: simulated")
    assert summary["metrics"]["raw"]["n_images"] == FRAMES - 2 and paths["report.png"].is_file()


def test_a_model_that_predicts_less_is_scored_on_the_same_pixels_and_never_looks_better(bags, tmp_path):
    """The same graph with a 0.1-5 m range (its depth beyond 5 m is invalid) and a 0.1-10 m one: the
    ground truth scored is the bag's, not the model's, and the holes never make the numbers better."""
    from runtime_fixtures import tiny_onnx

    metrics = {}
    for name, max_depth in (("full", 10.0), ("short", 5.0)):
        model = tiny_onnx(tmp_path / f"{name}.onnx", max_depth=max_depth)
        config = _config(bags["mcap", False], model, tmp_path / name)
        metrics[name] = evaluate_bag(config, progress=False).summary["metrics"]
    full, short = metrics["full"], metrics["short"]
    assert short["coverage"]["scored_pixels"] == full["coverage"]["scored_pixels"] > 0
    assert short["coverage"]["gt_in_range"] == full["coverage"]["gt_in_range"] == 1.0
    assert full["coverage"]["prediction"] == 1.0 and 0.05 < short["coverage"]["prediction"] < 0.95
    assert short["range"] == full["range"] == {"min_depth": 0.1, "max_depth": 80.0, "crop": None}
    for key in ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10"):
        assert short["raw"][key] > full["raw"][key]
    assert short["raw"]["d1"] <= full["raw"]["d1"]


def test_eval_without_ground_truth(bags, tiny_model, tmp_path):
    config = _config(
        bags["sqlite3", False], tiny_model, tmp_path / "out", depth_topic=None, camera_info_topic=None
    )
    result = evaluate_bag(config, progress=False)
    paths = write_results(result, config.out_dir)
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["metrics"] is None
    assert summary["frames"]["predicted"] == FRAMES and summary["frames"]["paired"] == 0
    assert summary["latency_ms"]["p50"] > 0
    assert 0 < summary["depth"]["median_m"] <= 10.0 and summary["depth"]["valid_fraction"] > 0
    assert paths["report.png"].is_file()


def _shift_ground_truth(source: Path, target: Path, shift_ns: dict[int, int]) -> Path:
    """Copy a raw-image sample bag, moving the header stamp of GT frame i by shift_ns[i]."""
    with open_bag(source) as reader, MessageBagWriter(target, "mcap") as writer:
        writer.add_message_topic(TOPICS["image"], Image)
        writer.add_message_topic(TOPICS["camera_info"], CameraInfo)
        writer.add_message_topic(TOPICS["depth"], Image)
        depth_index = 0
        for conn, t, data in reader.messages(connections=_camera_connections(reader)):
            msg = read_message(data, conn.msgtype, conn.topic, source)
            if conn.topic == TOPICS["depth"]:
                stamp = stamp_ns(msg.header.stamp) + shift_ns.get(depth_index, 0)
                msg.header.stamp = Time(sec=stamp // 10**9, nanosec=stamp % 10**9)
                depth_index += 1
            writer.write_message(conn.topic, msg, t)
    return target


def test_stamp_pairing_tolerance(bags, tiny_model, tmp_path):
    shifted = _shift_ground_truth(bags["mcap", False], tmp_path / "shifted", {1: 30_000_000, 3: -25_000_000})
    strict = evaluate_bag(
        _config(shifted, tiny_model, tmp_path / "a", stamp_tolerance_s=0.01), progress=False
    )
    assert strict.summary["frames"]["paired"] == FRAMES - 2
    assert strict.summary["frames"]["unpaired"] == 2
    assert [row["paired"] for row in strict.rows] == [True, False, True, False, True, True]
    loose = evaluate_bag(_config(shifted, tiny_model, tmp_path / "b", stamp_tolerance_s=0.04), progress=False)
    assert loose.summary["frames"]["paired"] == FRAMES
    assert loose.rows[1]["gt_dt_ms"] == pytest.approx(-30.0)


def test_max_frames(bags, tiny_model, tmp_path):
    result = evaluate_bag(
        _config(bags["mcap", False], tiny_model, tmp_path / "o", max_frames=2), progress=False
    )
    assert result.summary["frames"]["read"] == 2 and result.summary["frames"]["paired"] == 2


def test_write_bag_is_readable_with_the_node_outputs(bags, tiny_model, tmp_path):
    out_bag = tmp_path / "pred"
    config = _config(bags["sqlite3", False], tiny_model, tmp_path / "out", write_bag=out_bag)
    result = evaluate_bag(config, progress=False)
    counts = {}
    with open_bag(out_bag) as reader:
        for conn, _, data in reader.messages():
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            msg = reader.deserialize(data, conn.msgtype)
            if conn.topic == output_topic(config, "depth"):
                assert (msg.encoding, msg.height, msg.width) == ("32FC1", H, W)
                depth = np.frombuffer(msg.data, "<f4").reshape(H, W)
                assert np.isfinite(depth).all() and (depth > 0).all()
            elif conn.topic == output_topic(config, "points"):
                assert (msg.height, msg.width, msg.point_step, msg.is_dense) == (H // 2, W // 2, 16, False)
            elif conn.topic == output_topic(config, "camera_info"):
                assert (msg.height, msg.width) == (H, W)
    expected = ["/camera/camera_info", "/camera/image_raw", "/disdepth/depth/camera_info"]
    expected += ["/disdepth/depth/image", "/disdepth/points"]
    assert sorted(counts) == expected
    assert set(counts.values()) == {FRAMES}
    assert result.summary["written_bag"]["messages"] == counts


def test_missing_topic_lists_the_bag_topics(bags, tiny_model, tmp_path):
    with pytest.raises(BagError) as error:
        evaluate_bag(_config(bags["mcap", False], tiny_model, tmp_path, image_topic="/nope"), progress=False)
    text = str(error.value)
    assert "'/nope' is not in bag" in text and TOPICS["image"] in text and TOPICS["depth"] in text


def test_missing_bag_and_model_name_the_file(bags, tiny_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does_not_exist"):
        evaluate_bag(_config(tmp_path / "does_not_exist", tiny_model, tmp_path), progress=False)
    with pytest.raises(FileNotFoundError, match=r"no_model\.onnx"):
        evaluate_bag(_config(bags["mcap", False], tmp_path / "no_model.onnx", tmp_path), progress=False)


def test_damaged_sqlite3_bag_keeps_partial_results(tiny_model, tmp_path):
    """A page zeroed in the middle of the database: reading stops there, the frames before are kept."""
    source = write_sample_bag(
        tmp_path / "src", SampleBagSpec(frames=FRAMES, height=H, width=W, storage="sqlite3"), progress=False
    )
    partial = None
    for fraction in (0.6, 0.3, 0.8, 0.4, 0.7):  # the first damaged page that sqlite opens but cannot read
        damaged = tmp_path / f"damaged_{fraction}"
        damaged.mkdir()
        (damaged / "metadata.yaml").write_bytes((source / "metadata.yaml").read_bytes())
        data = bytearray((source / "src.db3").read_bytes())
        page = int(len(data) * fraction) // 4096 * 4096
        data[page : page + 4096] = bytes(4096)
        (damaged / "src.db3").write_bytes(data)
        try:
            result = evaluate_bag(_config(damaged, tiny_model, tmp_path / f"out_{fraction}"), progress=False)
        except BagError as error:  # damage in the schema pages: cannot open at all, named clearly
            assert str(damaged) in str(error)
            continue
        if result.error:
            partial = result
            break
    assert partial is not None, "no damaged page produced a partial read"
    assert "corrupt or truncated" in partial.error and "stopped after" in partial.error
    assert not partial.summary["complete"]
    assert 0 < partial.summary["frames"]["read"] < FRAMES or partial.summary["frames"]["gt_read"] < FRAMES
    paths = write_results(partial, tmp_path / "partial_out")
    saved = json.loads(paths["summary.json"].read_text())
    assert saved["error"] == partial.error and saved["frames"] == partial.summary["frames"]


def test_truncated_mcap_is_named_with_a_repair_hint(bags, tiny_model, tmp_path):
    source = bags["mcap", False]
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "metadata.yaml").write_bytes((source / "metadata.yaml").read_bytes())
    data = (source / f"{source.name}.mcap").read_bytes()
    (truncated / f"{source.name}.mcap").write_bytes(data[: len(data) // 2])
    with pytest.raises(BagError, match="mcap recover") as error:
        evaluate_bag(_config(truncated, tiny_model, tmp_path / "out"), progress=False)
    assert str(truncated) in str(error.value)


def test_cli(bags, tiny_model, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["eval-bag", str(bags["mcap", True]), "--model", str(tiny_model), "--out", str(out), "--quiet"]
    args += ["--image-topic", TOPICS["compressed"], "--depth-topic", TOPICS["depth"]]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"{FRAMES} paired with ground truth" in printed and "AbsRel" in printed
    assert "LSQ scale+shift (inverse depth)" in printed
    assert {p.name for p in out.iterdir()} == {"summary.json", "frames.csv", "report.png"}
    assert main([*args[:-4], "--image-topic", "/missing"]) == 2
    assert "/camera/image_raw/compressed" in capsys.readouterr().err


def _copy_bag(source: Path, target: Path, transform, compressed: bool = False) -> Path:
    """Copy a sample bag, passing each (topic, index on that topic, msg) through `transform`."""
    from sensor_msgs.msg import CompressedImage

    counts: dict[str, int] = {}
    image_topic = TOPICS["compressed"] if compressed else TOPICS["image"]
    with open_bag(source) as reader, MessageBagWriter(target, "mcap") as writer:
        writer.add_message_topic(image_topic, CompressedImage if compressed else Image)
        writer.add_message_topic(TOPICS["camera_info"], CameraInfo)
        writer.add_message_topic(TOPICS["depth"], Image)
        for conn, t, data in reader.messages(connections=_camera_connections(reader)):
            msg = read_message(data, conn.msgtype, conn.topic, source)
            index = counts[conn.topic] = counts.get(conn.topic, 0) + 1
            writer.write_message(conn.topic, transform(conn.topic, index - 1, msg), t)
    return target


def test_bad_messages_cost_one_frame_each_never_the_run(bags, tiny_model, tmp_path):
    """Uncalibrated camera_info (frames 1-2), a truncated ground-truth frame (3), an undecodable image (4),
    with --write-bag: every frame is accounted for, all failures are listed, the output bag is written."""

    def damage(topic, index, msg):
        if topic == TOPICS["camera_info"] and index in (1, 2):
            msg.k = [0.0] * 9
            msg.p = [0.0] * 12
        elif topic == TOPICS["depth"] and index == 3:
            msg.data = bytes(msg.data)[:50]
        elif topic == TOPICS["image"] and index == 4:
            msg.encoding = "nv21"
        return msg

    bag = _copy_bag(bags["mcap", False], tmp_path / "damaged", damage)
    out_bag = tmp_path / "out_bag"
    config = _config(bag, tiny_model, tmp_path / "out", write_bag=out_bag)
    result = evaluate_bag(config, progress=False)
    write_results(result, config.out_dir)
    summary = result.summary
    assert summary["complete"] and summary["frames"]["read"] == FRAMES
    assert summary["frames"]["failed"] == 1 and summary["frames"]["predicted"] == FRAMES - 1
    assert summary["frames"]["paired"] == FRAMES - 2  # frame 3's ground truth is unreadable
    counts = summary["failures"]["counts"]
    assert counts["camera_info"] == 2 and counts["decode"] == 2  # the nv21 image and the truncated GT
    reasons = {(f["cause"], f["topic"]) for f in summary["failures"]["listed"]}
    assert ("decode", TOPICS["depth"]) in reasons and ("decode", TOPICS["image"]) in reasons
    assert result.rows[1]["status"] == "ok (camera_info unusable)" and result.rows[1]["paired"]
    assert result.rows[3]["status"] == "ground truth unreadable"
    written = summary["written_bag"]["messages"]
    assert written[output_topic(config, "depth")] == FRAMES - 1
    assert (
        written[output_topic(config, "camera_info")] == written[output_topic(config, "points")] == FRAMES - 3
    )


def test_oversized_png_is_refused_and_counted(bags, tiny_model, tmp_path):
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (100000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    bomb += chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")

    def swap(topic, index, msg):
        if topic == TOPICS["compressed"] and index == 2:
            msg.data = bomb
            msg.format = "png"
        return msg

    bag = _copy_bag(bags["mcap", True], tmp_path / "bomb", swap, compressed=True)
    summary = evaluate_bag(
        _config(bag, tiny_model, tmp_path / "out", compressed=True), progress=False
    ).summary
    assert summary["failures"]["counts"]["bad_input"] == 1 and summary["frames"]["predicted"] == FRAMES - 1
    assert "over the limit" in summary["failures"]["listed"][0]["reason"]


def test_nothing_evaluable_exits_non_zero(bags, tiny_model, tmp_path, capsys):
    args = ["eval-bag", str(bags["mcap", False]), "--model", str(tiny_model), "--out", str(tmp_path / "o")]
    assert main([*args, "--image-topic", TOPICS["image"], "--max-input-pixels", "100", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"no frame of {TOPICS['image']} could be evaluated ({FRAMES} failed" in err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "over the limit of 100" in summary["failures"]["listed"][0]["reason"]


@pytest.mark.parametrize(
    ("image_topic", "depth_topic", "expected"),
    [
        (
            TOPICS["image"],
            TOPICS["image"],
            f"--depth-topic {TOPICS['image']} carries rgb8 images, not depth: ground truth must be 16UC1",
        ),
        (
            TOPICS["depth"],
            None,
            f"--image-topic {TOPICS['depth']} carries depth images (16UC1), not camera images",
        ),
    ],
)
def test_swapped_topics_are_named_before_evaluating(
    bags, tiny_model, tmp_path, capsys, image_topic, depth_topic, expected
):
    """A colour topic as --depth-topic, a depth topic as --image-topic: one line saying so, exit 2."""
    args = ["eval-bag", str(bags["mcap", False]), "--model", str(tiny_model), "--out", str(tmp_path / "o")]
    args += [
        "--image-topic",
        image_topic,
        *(["--depth-topic", depth_topic] if depth_topic else []),
        "--quiet",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1, err
    assert "--stamp-tolerance" not in err and "decode_depth" not in err and not (tmp_path / "o").exists()


def test_sigterm_writes_the_results_and_leaves_no_partial_files(tiny_model, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    bag = write_sample_bag(tmp_path / "long", SampleBagSpec(frames=400, height=H, width=W), progress=False)
    out, out_bag = tmp_path / "out", tmp_path / "pred"
    command = [
        sys.executable,
        "-m",
        "disdepth_core.cli.main",
        "eval-bag",
        str(bag),
        "--model",
        str(tiny_model),
        "--image-topic",
        TOPICS["image"],
        "--depth-topic",
        TOPICS["depth"],
        "--out",
        str(out),
        "--write-bag",
        str(out_bag),
        "--threads",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith(".pred") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(1.0)  # the read loop is running (400 frames take several seconds even on an idle machine)
    assert process.poll() is None, "the evaluation finished before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert not summary["complete"] and summary["error"].startswith("interrupted after")
    assert 0 < summary["frames"]["read"] < 400
    assert summary["written_bag"]["path"] is None and not out_bag.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long", "out"]  # no hidden partial directory
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert os.path.getsize(out / "report.png") > 0


def test_an_interrupt_before_the_first_frame_still_reports(bags, tiny_model, tmp_path, monkeypatch):
    import disdepth_ros.commands.eval_bag.evaluate as bag_eval

    def interrupted(*_args):
        raise KeyboardInterrupt("signal 15")

    monkeypatch.setattr(bag_eval, "_declare_output_topics", interrupted)
    config = _config(bags["mcap", False], tiny_model, tmp_path / "out", write_bag=tmp_path / "pred")
    summary = evaluate_bag(config, progress=False).summary
    assert summary["error"] == "interrupted after 0 frames" and not summary["complete"]
    assert summary["written_bag"]["path"] is None and not (tmp_path / "pred").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial bag left


def test_an_interrupt_swallowed_by_a_c_extension_still_stops_the_run(bags, tiny_model, tmp_path, monkeypatch):
    """rclpy's deserialiser calls Python back and discards a KeyboardInterrupt raised there; the handler's
    record of the request stops the read loop anyway."""
    import contextlib

    import disdepth_ros.commands.eval_bag.evaluate as bag_eval
    from disdepth_core import interrupts

    calls = []
    real_read_message = bag_eval.read_message

    def read_message(*args):
        calls.append(1)
        if len(calls) == 3:
            with contextlib.suppress(KeyboardInterrupt):  # what the C extension did with the exception
                interrupts.handle(15, None)
        return real_read_message(*args)

    monkeypatch.setattr(bag_eval, "read_message", read_message)
    interrupts.clear()
    try:
        config = _config(bags["mcap", False], tiny_model, tmp_path / "out")
        summary = evaluate_bag(config, progress=False).summary
    finally:
        interrupts.clear()
    assert summary["error"].startswith("interrupted after") and not summary["complete"]
    assert summary["frames"]["read"] < FRAMES


def test_scale_source_from_the_bags_own_tf(bags, tmp_path):
    """auto: the camera mount comes from the bag's /tf and /tf_static; with the shipped model the ground
    plane decides; the summary, frames.csv and the printed table name the source."""
    import csv

    from disdepth_core.cli.scale_args import ScaleOptions
    from disdepth_core.scale import mount_from_angles

    shipped = Path(__file__).resolve().parents[1] / "models" / "disdepth_default.onnx"
    bag = write_sample_bag(
        tmp_path / "vga", SampleBagSpec(frames=6, height=240, width=320, seed=4), progress=False
    )
    result = evaluate_bag(_config(bag, shipped, tmp_path / "auto"), progress=False)
    scale = result.summary["scale"]
    assert scale["source"] == "auto" and "the bag's /tf and /tf_static" in scale["mount"]
    assert any(name.startswith("ground_plane") for name in scale["frames_by_source"]), scale
    assert result.summary["metrics"]["scale_source"]["n_images"] == 6
    write_results(result, tmp_path / "auto")
    rows = list(csv.DictReader((tmp_path / "auto" / "frames.csv").open()))
    assert {row["scale_source"] for row in rows} <= {"ground_plane", "model"} and all(
        row["scale"] for row in rows
    )
    fixed = evaluate_bag(_config(bag, shipped, tmp_path / "f", scale=ScaleOptions("fixed:2")), progress=False)
    raw, scaled = fixed.summary["metrics"]["raw"], fixed.summary["metrics"]["scale_source"]
    assert scaled["abs_rel"] != raw["abs_rel"] and fixed.summary["scale"]["frames_by_source"] == {
        "fixed (measuring)": 6
    }
    measured = ScaleOptions("ground_plane", mount=mount_from_angles(1.0, 5.0))
    by_hand = evaluate_bag(
        _config(bags["mcap", False], shipped, tmp_path / "m", scale=measured), progress=False
    )
    assert by_hand.summary["scale"]["mount"].startswith("camera mount from parameters: camera 1.000 m")
    no_tf = _strip_tf(bags["mcap", False], tmp_path / "no_tf")
    bare = evaluate_bag(
        _config(no_tf, shipped, tmp_path / "n", scale=ScaleOptions("ground_plane")), progress=False
    )
    assert "has no /tf or /tf_static" in bare.summary["scale"]["mount"]
    assert set(bare.summary["scale"]["frames_by_source"]) == {"model (fallback)"}


def _strip_tf(source: Path, target: Path) -> Path:
    """A copy of a sample bag without its TF topics (a recording made without TF)."""
    with open_bag(source) as reader, MessageBagWriter(target, "mcap") as writer:
        connections = _camera_connections(reader)
        for conn in connections:
            writer.add_topic(conn.topic, conn.msgtype)
        for conn, t, data in reader.messages(connections=connections):
            writer.write(conn.topic, bytes(data), t)
    return target


def test_eval_rgbd_scale_source_uses_each_frames_mount(bags, tmp_path, capsys):
    """`disdepth eval --scale-source ground_plane`: frames with an index.json mount use it, frames
    without one are scored with the fallback and counted separately."""
    from disdepth_ros.commands.sample_bag.recording import robot_mount

    shipped = Path(__file__).resolve().parents[1] / "models" / "disdepth_default.onnx"
    folder = tmp_path / "frames"
    assert _bag_frames_to_npz(bags["mcap", True], folder) == FRAMES
    mount = robot_mount(SampleBagSpec(frames=FRAMES, height=H, width=W))
    entries = [
        {
            "name": f"bag_{i:03d}",
            "src": "sample",
            "mount": {"height_m": mount.height_m, "ground_normal": list(mount.up)},
        }
        for i in range(4)
    ] + [{"name": f"bag_{i:03d}", "src": "sample", "mount": None} for i in range(4, FRAMES)]
    (folder / "index.json").write_text(json.dumps(entries))
    args = ["eval", str(shipped), "--dataset", "rgbd", "--data-root", str(folder), "--no-progress"]
    assert main([*args, "--scale-source", "ground_plane", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["scale_source_spec"] == "ground_plane" and payload["scale_source"]["n_images"] == FRAMES
    decisions = payload["scale_decisions"]
    assert decisions["no mount, scale from model (fallback)"]["raw"]["n_images"] == FRAMES - 4
    assert sum(d["raw"]["n_images"] for d in decisions.values()) == FRAMES
    assert main([*args, "--scale-source", "ground_plane"]) == 0
    printed = capsys.readouterr().out
    assert (
        "scale source ground_plane" in printed
        and "frames no mount, scale from model (fallback) (2 images)" in printed
    )


def test_bad_arguments_are_refused_once_where_they_enter(bags, tiny_model, tmp_path, capsys):
    """`--max-input-pixels` is checked by EvalConfig (the per-frame pipeline trusts it) and a missing model
    by the runtime when it opens the file: each is one line naming the value, before any frame is read."""
    out = tmp_path / "o"
    args = ["eval-bag", str(bags["mcap", False]), "--image-topic", TOPICS["image"], "--out", str(out)]
    assert main([*args, "--model", str(tiny_model), "--max-input-pixels", "0", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("--max-input-pixels must be >= 1, got 0") == 1 and len(err.splitlines()) == 1, err
    missing = tmp_path / "no_model.onnx"
    assert main([*args, "--model", str(missing), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count(str(missing)) == 1 and len(err.splitlines()) == 1, err
    assert not out.exists()
