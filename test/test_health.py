"""Health assessment for /diagnostics (pure Python): escalation rules and the per-cause failure log."""

import pytest

from disdepth_core.serving.failures import FAILURE_CAUSES, FailureLog, FrameFailure
from disdepth_core.serving.health import RESTART_ERROR_WINDOW_S, NodeHealth

INPUTS = "best_effort"


def _assess(health: NodeHealth, now: float, last_info: float | None = 0.0):
    inputs = [("image", "/cam/image", health.last_image), ("camera_info", "/cam/info", last_info)]
    return health.assess(now, 0.0, output_timeout=1.0, stale_timeout=5.0, inputs=inputs, qos_text=INPUTS)


def _serve(health: NodeHealth, until: float, fail: str | None = None) -> None:
    """Frames at 10 Hz from t=0 to `until`; each one published, or failing with cause `fail`."""
    t = 0.0
    while t <= until + 1e-9:
        health.image_received(t)
        if fail is None:
            health.frame_published(t, 20.0, 30.0)
        else:
            health.failures.record(FrameFailure(fail, f"frame at {t:.1f} s"), t)
        t += 0.1


def test_ok_while_publishing():
    health = NodeHealth()
    _serve(health, 3.0)
    result = _assess(health, 3.05, last_info=3.0)
    assert result.level == "OK" and result.message.startswith("publishing depth at")
    assert float(result.message.split()[3]) == pytest.approx(10.0, abs=0.3)


def test_warn_names_the_counter_that_grows_when_output_stops():
    health = NodeHealth()
    _serve(health, 2.0)
    t = 2.1
    while t < 3.5:  # now every frame fails to decode
        health.image_received(t)
        health.failures.record(FrameFailure("decode", "unsupported image encoding 'nv21'"), t)
        t += 0.1
    result = _assess(health, 3.5, last_info=3.4)
    assert result.level == "WARN"
    assert "no depth published for 1.5 s while 14 frames arrived" in result.message
    assert "decode failures +14" in result.message and "nv21" in result.message
    assert _assess(health, 2.9, last_info=2.9).level == "OK"  # under the output timeout: still fine


def test_backend_that_keeps_failing_is_an_error():
    health = NodeHealth()
    _serve(health, 2.0, fail="backend")
    result = _assess(health, 2.0, last_info=2.0)
    assert result.level == "ERROR" and "backend keeps failing" in result.message
    assert "since start" in result.message


def test_worker_restart_is_an_error_for_a_while():
    health = NodeHealth()
    _serve(health, 1.0)
    health.worker_restarted(1.0, "SystemExit: boom")
    assert _assess(health, 1.05, last_info=1.0).level == "ERROR"
    assert "restarted 1x" in _assess(health, 1.05, last_info=1.0).message
    later = 1.0 + RESTART_ERROR_WINDOW_S + 1
    health.image_received(later)
    health.frame_published(later, 20.0, 30.0)
    assert _assess(health, later, last_info=later).level == "OK"


def test_slow_inference_extends_the_output_timeout():
    health = NodeHealth()
    health.image_received(0.0)
    health.frame_published(0.0, 800.0, 900.0)  # 0.8 s per frame: 3 x p95 = 2.4 s
    for t in (0.5, 1.0, 1.5, 2.0):
        health.image_received(t)
    assert _assess(health, 2.0, last_info=2.0).level == "OK"
    health.image_received(2.6)
    result = _assess(health, 2.6, last_info=2.6)
    assert result.level == "WARN" and "inference slower than 2.4 s" in result.message


def test_silent_topics_are_named():
    health = NodeHealth()
    result = _assess(health, 6.0, last_info=None)
    assert result.level == "WARN"
    assert (
        "no image on /cam/image for 6.0 s" in result.message
        and "no camera_info on /cam/info" in result.message
    )


def test_failure_log_throttles_per_cause():
    log = FailureLog(throttle_s=5.0)
    assert log.record(FrameFailure("decode", "a"), 0.0) is not None
    assert log.record(FrameFailure("decode", "b"), 1.0) is None  # same cause, throttled
    assert log.record(FrameFailure("backend", "c"), 1.0) is not None  # another cause is not
    line = log.record(FrameFailure("decode", "d"), 6.0)
    assert (
        line is not None
        and "(1 more since the last report)" in line
        and line.endswith("d (1 more since the last report)")
    )
    assert log.snapshot() == {**dict.fromkeys(FAILURE_CAUSES, 0), "decode": 3, "backend": 1}
    with pytest.raises(ValueError, match="unknown failure cause"):
        FrameFailure("gremlins", "x")
