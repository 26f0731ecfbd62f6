"""eval-bag on generated bags: storages, raw/compressed, with/without GT, stamp pairing, damage, outputs."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("onnxruntime")

from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image

from disdepth_core.cli.main import main
from disdepth_core.image_encodings import decode_depth
from disdepth_core.metrics import METRIC_KEYS, MetricAccumulator
from disdepth_core.runtime import load_estimator
from disdepth_ros.bag_eval import EvalConfig, evaluate_bag, output_topic, write_results
from disdepth_ros.bag_io import BagError, BagWriter, deserialize, open_bag, stamp_ns
from disdepth_ros.conversions import compressed_msg_to_rgb
from disdepth_ros.outputs import apply_depth_limits
from disdepth_ros.sample_bag import TOPICS, SampleBagSpec, write_sample_bag

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
    for name in ("raw", "median"):
        assert set(METRIC_KEYS) <= set(summary["metrics"][name])
        assert summary["metrics"][name]["n_images"] == FRAMES
    assert summary["metrics"]["median"]["abs_rel"] < summary["metrics"]["raw"]["abs_rel"]  # untrained scale
    lines = paths["frames.csv"].read_text().splitlines()
    assert len(lines) == FRAMES + 1 and lines[0].startswith("index,stamp_ns,status,paired")
    assert paths["report.png"].stat().st_size > 10_000


def test_summary_metrics_equal_direct_computation(bags, tiny_model, tmp_path):
    """The summary's means are `compute_depth_metrics` over the same frames, through the node's path."""
    bag = bags["mcap", True]
    config = _config(bag, tiny_model, tmp_path / "out", compressed=True)
    summary = evaluate_bag(config, progress=False).summary
    estimator = load_estimator(tiny_model)
    raw, median = MetricAccumulator(), MetricAccumulator()
    info = estimator.info
    with open_bag(bag) as reader:
        images, depths = {}, {}
        for conn, _, data in reader.messages():
            msg = deserialize(data, conn.msgtype)
            if conn.topic == TOPICS["compressed"]:
                images[stamp_ns(msg.header.stamp)] = compressed_msg_to_rgb(msg)
            elif conn.topic == TOPICS["depth"]:
                depths[stamp_ns(msg.header.stamp)] = decode_depth(
                    msg.encoding, msg.height, msg.width, msg.step, msg.data, False
                )
    for stamp, rgb in images.items():
        pred = apply_depth_limits(estimator.predict(rgb).depth, info.min_depth, info.max_depth)
        kwargs = {"min_depth": info.min_depth, "max_depth": info.max_depth}
        raw.add(pred, depths[stamp], **kwargs)
        median.add(pred, depths[stamp], align="median", **kwargs)
    for name, acc in (("raw", raw), ("median", median)):
        expected = acc.compute()
        for key in METRIC_KEYS:
            assert summary["metrics"][name][key] == pytest.approx(expected[key], rel=1e-5, abs=1e-7), key


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
    with open_bag(source) as reader, BagWriter(target, "mcap") as writer:
        writer.add_topic(TOPICS["image"], Image)
        writer.add_topic(TOPICS["camera_info"], CameraInfo)
        writer.add_topic(TOPICS["depth"], Image)
        depth_index = 0
        for conn, t, data in reader.messages():
            msg = deserialize(data, conn.msgtype)
            if conn.topic == TOPICS["depth"]:
                stamp = stamp_ns(msg.header.stamp) + shift_ns.get(depth_index, 0)
                msg.header.stamp = Time(sec=stamp // 10**9, nanosec=stamp % 10**9)
                depth_index += 1
            writer.write(conn.topic, msg, t)
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
    assert {p.name for p in out.iterdir()} == {"summary.json", "frames.csv", "report.png"}
    assert main([*args[:-4], "--image-topic", "/missing"]) == 2
    assert "/camera/image_raw/compressed" in capsys.readouterr().err
