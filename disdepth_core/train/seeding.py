"""Seeding and determinism.

Every random choice of a run derives from ``config.seed``: model initialisation (``seed_everything``
before building), the data order of epoch ``e`` (``DistributedSampler(seed=seed)`` with
``set_epoch(e)``), and augmentation of sample ``i`` in epoch ``e`` (:func:`sample_rng`, independent of
workers, ranks and of how many batches were skipped on resume). Global RNGs are re-seeded at the start
of every epoch from ``(seed, epoch, rank)`` and saved in mid-epoch checkpoints, so ``--resume``
reproduces an uninterrupted run bit for bit on CPU.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_epoch(seed: int, epoch: int, rank: int) -> None:
    """Re-seed the global RNGs for ``epoch`` on ``rank`` (stochastic layers, if any)."""
    seed_everything(int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0]))


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The augmentation RNG of dataset item ``index`` in ``epoch``."""
    return np.random.default_rng([seed, epoch, index])


def configure_determinism(enabled: bool) -> None:
    """Prefer deterministic kernels (warn, don't fail, where an op has none); cuDNN autotune off."""
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.benchmark = not enabled
    torch.backends.cudnn.deterministic = enabled
