"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

A state ``name`` in a run directory is two files: ``name.state.safetensors`` (optimizer state tensors,
RNG states) and ``name.state.json`` (optimizer param groups and non-tensor state, scheduler, grad
scaler, Python/NumPy RNG, epoch/step counters). Nested state dicts are flattened: a tensor at
``state_dict["state"][3]["exp_avg"]`` is stored under the key ``optimizer/state/3/exp_avg`` and its
place in the JSON tree holds ``{"__tensor__": "optimizer/state/3/exp_avg"}``. Both files are written
to a temporary name and moved into place with ``os.replace``; the JSON is written last, so a reader that
finds it also finds the tensors it refers to.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from disdepth_core.files import atomic_write

TENSOR_REF = "__tensor__"
TUPLE_REF = "__tuple__"
INT_KEYS_REF = "__int_keys__"
STATE_VERSION = 1


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


def save_state(run_dir: str | os.PathLike[str], name: str, state: dict[str, Any]) -> Path:
    """Write ``state`` (nested tensors / JSON values) as ``run_dir/name.state.{safetensors,json}``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = flatten_state(state, "state", tensors)
    payload = json.dumps({"version": STATE_VERSION, "tree": tree}, indent=1)
    tensor_path = run_dir / f"{name}.state.safetensors"
    json_path = run_dir / f"{name}.state.json"
    atomic_write(tensor_path, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write(json_path, lambda tmp: tmp.write_text(payload, encoding="utf-8"))
    return json_path


def load_state(run_dir: str | os.PathLike[str], name: str) -> dict[str, Any]:
    """Read a state written by :func:`save_state`; errors name the missing or corrupt file."""
    run_dir = Path(run_dir)
    json_path = run_dir / f"{name}.state.json"
    tensor_path = run_dir / f"{name}.state.safetensors"
    for path in (json_path, tensor_path):
        if not path.is_file():
            raise FileNotFoundError(f"cannot resume: training state file missing: {path}")
    try:
        payload = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{json_path}: corrupt training state ({error})") from None
    if payload.get("version") != STATE_VERSION:
        raise ValueError(f"{json_path}: unsupported training state version {payload.get('version')!r}")
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{tensor_path}: corrupt training state tensors ({error})") from None
    try:
        return unflatten_state(payload["tree"], tensors)
    except KeyError as error:
        raise ValueError(f"{json_path} refers to tensor {error} missing from {tensor_path}") from None
