"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

A state ``name`` in a run directory is written as one consistent unit, so a process killed at any point
resumes from a complete state (never new tensors with old counters):

1. the tensors go to an immutable generation file ``name.state.<generation>.safetensors`` (module and
   optimizer state, RNG states), written to a temporary name, verified and renamed;
2. the current commit record ``name.state.json`` is copied to ``name.state.previous.json``;
3. the new commit record replaces ``name.state.json``: optimizer param groups and non-tensor state,
   scheduler, grad scaler, Python/NumPy RNG, counters, plus the generation file's name and sha256;
4. generation files neither record refers to are deleted.

Every step is an atomic rename (``disdepth_core.files``), and a record only ever names a generation file
that was complete before the record was written. ``load_state`` checks the sha256 and falls back to the
previous record if the newest one does not match its tensors. Nested state dicts are flattened: a tensor
at ``state_dict["state"][3]["exp_avg"]`` is stored under ``optimizer/state/3/exp_avg`` and its place in
the JSON tree holds ``{"__tensor__": "optimizer/state/3/exp_avg"}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from disdepth_core.files import atomic_write, atomic_write_bytes, atomic_write_text, sha256_file

TENSOR_REF = "__tensor__"
TUPLE_REF = "__tuple__"
INT_KEYS_REF = "__int_keys__"
STATE_VERSION = 2


def flatten_state(tree: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON tree of ``tree`` with tensors moved into ``tensors`` (keys start with ``prefix``)."""
    if isinstance(tree, torch.Tensor):
        key = prefix
        tensors[key] = tree.detach().cpu().contiguous()
        return {TENSOR_REF: key}
    if isinstance(tree, dict):
        int_keys = bool(tree) and all(isinstance(k, int) for k in tree)
        if not int_keys and not all(isinstance(k, str) for k in tree):
            raise TypeError(f"state at {prefix!r}: dict keys must be all str or all int")
        out = {str(k): flatten_state(v, f"{prefix}/{k}", tensors) for k, v in tree.items()}
        return {INT_KEYS_REF: out} if int_keys else out
    if isinstance(tree, tuple):
        return {TUPLE_REF: [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(tree)]}
    if isinstance(tree, list):
        return [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, np.ndarray):
        return flatten_state(torch.from_numpy(tree.copy()), prefix, tensors)
    if isinstance(tree, np.generic):
        return tree.item()
    raise TypeError(f"state at {prefix!r}: cannot store {type(tree).__name__} without pickle")


def unflatten_state(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(tree, dict):
        if TENSOR_REF in tree:
            return tensors[tree[TENSOR_REF]]
        if TUPLE_REF in tree:
            return tuple(unflatten_state(v, tensors) for v in tree[TUPLE_REF])
        if INT_KEYS_REF in tree:
            return {int(k): unflatten_state(v, tensors) for k, v in tree[INT_KEYS_REF].items()}
        return {k: unflatten_state(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten_state(v, tensors) for v in tree]
    return tree


def capture_rng() -> dict[str, Any]:
    """RNG states of Python, NumPy, torch CPU and (if available) every CUDA device."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng` captured (after a flatten/unflatten round trip)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (np_state["name"], keys, np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def _state_paths(run_dir: Path, name: str) -> tuple[Path, Path]:
    """The commit record and the record of the previous consistent state."""
    return run_dir / f"{name}.state.json", run_dir / f"{name}.state.previous.json"


def save_state(run_dir: str | os.PathLike[str], name: str, state: dict[str, Any], generation: int) -> Path:
    """Write ``state`` (nested tensors / JSON values) as one consistent unit (module docstring).

    ``generation`` (e.g. the optimizer step) names the immutable tensor file of this state.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = flatten_state(state, "state", tensors)
    tensor_path = run_dir / f"{name}.state.{int(generation):010d}.safetensors"
    atomic_write(
        tensor_path, lambda tmp: save_file(tensors, str(tmp)), verify=lambda tmp: load_file(str(tmp))
    )
    record = {
        "version": STATE_VERSION,
        "generation": int(generation),
        "tensors": tensor_path.name,
        "sha256": sha256_file(tensor_path),
        "tree": tree,
    }
    current, previous = _state_paths(run_dir, name)
    if current.is_file():
        atomic_write_bytes(previous, current.read_bytes())
    atomic_write_text(current, json.dumps(record, indent=1))
    _remove_unreferenced(run_dir, name)
    return current


def _remove_unreferenced(run_dir: Path, name: str) -> None:
    """Delete tensor files of ``name`` that neither commit record refers to (superseded or orphaned)."""
    referenced = set()
    for record_path in _state_paths(run_dir, name):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            referenced.add(json.loads(record_path.read_text(encoding="utf-8"))["tensors"])
    for path in run_dir.glob(f"{name}.state.*.safetensors"):
        if path.name not in referenced:
            path.unlink(missing_ok=True)


def has_state(run_dir: str | os.PathLike[str], name: str) -> bool:
    """Whether ``run_dir`` holds a committed state ``name`` to resume from."""
    return _state_paths(Path(run_dir), name)[0].is_file()


def load_state(run_dir: str | os.PathLike[str], name: str) -> dict[str, Any]:
    """Read the newest consistent state written by :func:`save_state`.

    The commit record is used when its tensor file exists with the recorded sha256; otherwise the
    previous record is (a damaged newest state), with a warning. Errors name the files.
    """
    run_dir = Path(run_dir)
    current, previous = _state_paths(run_dir, name)
    if not current.is_file():
        raise FileNotFoundError(f"cannot resume: training state file missing: {current}")
    problems: list[str] = []
    for record_path in (current, previous):
        if not record_path.is_file():
            continue
        try:
            state = _load_record(run_dir, record_path)
        except ValueError as error:
            problems.append(str(error))
            continue
        if problems:
            warnings.warn(f"resuming from the previous state {record_path}: {problems[0]}", stacklevel=2)
        return state
    raise ValueError("cannot resume: no consistent training state: " + "; ".join(problems))


def _load_record(run_dir: Path, record_path: Path) -> dict[str, Any]:
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{record_path}: corrupt training state ({error})") from None
    version = record.get("version") if isinstance(record, dict) else None
    if version != STATE_VERSION:
        raise ValueError(f"{record_path}: unsupported training state version {version!r}")
    tensor_path = run_dir / str(record["tensors"])
    if not tensor_path.is_file():
        raise ValueError(f"{record_path} refers to {tensor_path.name}, which is missing")
    if sha256_file(tensor_path) != record["sha256"]:
        raise ValueError(f"{tensor_path}: does not match the sha256 in {record_path} (damaged)")
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{tensor_path}: corrupt training state tensors ({error})") from None
    try:
        return unflatten_state(record["tree"], tensors)
    except KeyError as error:
        raise ValueError(f"{record_path} refers to tensor {error} missing from {tensor_path}") from None
