"""The training loop shared by every stage: AdamW + OneCycleLR, AMP on CUDA, DDP, checkpoints, resume.

Per step: ``loss = module(batch)`` (through DDP when distributed; SyncBatchNorm on CUDA with
``runtime.sync_bn``, CPU has none, so BatchNorm statistics are per rank and rank 0's are broadcast at the end
of every epoch), backward (scaled for fp16), gradient
clipping (``optim.grad_clip``), optimizer and scheduler step. Per epoch: validation on rank 0 with the
standard depth metrics, then ``last`` (always) and ``best`` (lowest ``runtime.best_metric``; highest for
the delta thresholds) checkpoints. Files in ``config.out``:

* ``last.safetensors`` / ``best.safetensors`` (+ ``.json`` sidecars): the stage's artifact, metadata
  holding the config, epoch, step, validation metrics, input size and git revision;
* ``last.state.json`` (+ ``last.state.previous.json`` and ``last.state.<step>.safetensors``): module
  state, optimizer, scheduler, grad scaler, RNG states and counters, stored without pickle as one
  consistent unit, committed after the artifacts (:mod:`disdepth_core.train.state`);
* ``history.jsonl`` and ``tb/`` (TensorBoard).

``fit(resume=True)`` reloads ``last.state`` and continues; on CPU the final weights equal those of an
uninterrupted run bit for bit (see :mod:`disdepth_core.train.seeding`), wherever the first run was killed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from disdepth_core.files import atomic_write_text, remove_stale_temporaries
from disdepth_core.provenance import git_revision

from .batches import EpochBatches
from .config import TrainConfig
from .distributed import DistInfo, all_reduce_mean, barrier
from .logger import RunLogger
from .module import TrainingModule
from .seeding import configure_determinism, seed_epoch
from .state import capture_rng, load_state, restore_rng, save_state
from .validation import evaluate_depth

HIGHER_IS_BETTER = ("d1", "d2", "d3", "delta1", "delta2", "delta3")


@dataclass
class FitResult:
    """Where a run left its files and what it measured last."""

    out_dir: Path
    last: Path
    best: Path
    epoch: int
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    best_metrics: dict[str, float] = field(default_factory=dict)


def amp_context(device: torch.device, mode: str) -> contextlib.AbstractContextManager:
    """bf16/fp16 autocast on CUDA; a no-op on CPU or with ``mode == "off"``."""
    if device.type != "cuda" or mode == "off":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


class Trainer:
    """Runs one stage's :class:`TrainingModule` to completion (see the module docstring)."""

    def __init__(
        self,
        config: TrainConfig,
        module: TrainingModule,
        batches: EpochBatches,
        val_loader: DataLoader | None,
        info: DistInfo,
        recipe: str = "",
    ) -> None:
        self.config = config
        self.recipe = recipe or f"disdepth {module.stage}"
        self.git_hash = git_revision()
        self.info = info
        self.module = module.to(info.device)
        self.batches = batches
        self.val_loader = val_loader
        self.out_dir = Path(config.out)
        self.steps_per_epoch = len(batches)
        runtime = config.runtime
        optim = config.optim
        groups = module.parameter_groups(optim.lr, optim.encoder_lr_scale)
        if not groups:
            raise ValueError(f"stage {module.stage!r} has no trainable parameters; check the config")
        self.optimizer = torch.optim.AdamW(groups, betas=tuple(optim.betas), weight_decay=optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer,
            max_lr=[group["lr"] for group in groups],
            total_steps=optim.epochs * self.steps_per_epoch,
            pct_start=optim.pct_start,
            div_factor=optim.div_factor,
            final_div_factor=optim.final_div_factor,
        )
        fp16 = info.device.type == "cuda" and runtime.amp == "fp16"
        self.scaler = torch.amp.GradScaler(info.device.type, enabled=fp16)
        self.wrapped: nn.Module = module
        if info.distributed:
            if info.device.type == "cuda" and runtime.sync_bn:
                self.module = module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
            device_ids = [info.device.index] if info.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(
                module, device_ids=device_ids, find_unused_parameters=runtime.find_unused_parameters
            )
        self.epoch = 0
        self.batch_in_epoch = 0
        self.step = 0
        self.metrics: dict[str, float] = {}
        self.best_metrics: dict[str, float] = {}
        self.best_value: float | None = None

    # ---------------------------------------------------------------------------------------- resume
    def _state(self) -> dict[str, Any]:
        return {
            "module": self.module.resume_state(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng(),
            "progress": {
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "step": self.step,
                "best_value": self.best_value,
                "metrics": self.metrics,
                "best_metrics": self.best_metrics,
            },
        }

    def _restore(self) -> bool:
        """Load ``last.state``; returns True when it was saved mid-epoch (RNG restored)."""
        state = load_state(self.out_dir, "last")
        try:
            self.module.load_resume_state(state["module"])
        except RuntimeError as error:
            raise ValueError(
                f"cannot resume from {self.out_dir / 'last.state.json'}: it was written for a "
                f"different model or stage config: {error}"
            ) from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        progress = state["progress"]
        self.epoch, self.batch_in_epoch = progress["epoch"], progress["batch_in_epoch"]
        self.step = progress["step"]
        self.best_value = progress["best_value"]
        self.metrics, self.best_metrics = progress["metrics"], progress["best_metrics"]
        if self.batch_in_epoch >= self.steps_per_epoch:
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            return False
        restore_rng(state["rng"])
        return True

    # ------------------------------------------------------------------------------------ checkpoints
    def _metadata(self) -> dict[str, Any]:
        """Checkpoint metadata; ``input_height``/``input_width``/``recipe``/``git_hash``/``trained`` are
        the keys the runtime reads (``disdepth_core.runtime``)."""
        return {
            "stage": self.module.stage,
            "epoch": self.epoch,
            "step": self.step,
            "metrics": self.metrics,
            "input_height": self.config.data.height,
            "input_width": self.config.data.width,
            "recipe": self.recipe,
            "git_hash": self.git_hash,
            "trained": True,
            "config": self.config.to_dict(),
        }

    def _save(self, best: bool) -> None:
        """Write the artifacts, then commit the resume state (the commit is the last write: a run
        killed before it redoes the work since the previous commit and rewrites identical artifacts)."""
        if not self.info.is_main:
            return
        metadata = self._metadata()
        self.module.save_artifact(self.out_dir / "last.safetensors", metadata)
        if best:
            self.module.save_artifact(self.out_dir / "best.safetensors", metadata)
        save_state(self.out_dir, "last", self._state(), generation=self.step)

    def _is_better(self, metrics: Mapping[str, float]) -> bool:
        key = self.config.runtime.best_metric
        if key not in metrics:
            raise ValueError(f"runtime.best_metric={key!r} is not a validation metric: {sorted(metrics)}")
        value = float(metrics[key])
        value = -value if key in HIGHER_IS_BETTER else value
        if self.best_value is None or value < self.best_value:
            self.best_value = value
            return True
        return False

    # ---------------------------------------------------------------------------------------- training
    def fit(self, resume: bool = False) -> FitResult:
        """Train ``optim.epochs`` epochs (continuing ``last`` with ``resume``); returns the files written."""
        config, info = self.config, self.info
        epochs = config.optim.epochs
        if info.is_main:
            remove_stale_temporaries(self.out_dir)  # left by a killed run
        mid_epoch = self._restore() if resume else False
        logger = RunLogger(self.out_dir, enabled=info.is_main, resume_step=self.step if resume else None)
        determinism = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        )
        configure_determinism(config.runtime.deterministic)
        if info.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out_dir / "config.yaml", _to_yaml(config.to_dict()))
        try:
            while self.epoch < epochs:
                if not mid_epoch:
                    seed_epoch(config.seed, self.epoch, info.rank)
                mid_epoch = False
                self._train_epoch(logger)
                sync_buffers(info, self.module)
                best = self._validate(logger)
                self._save(best)
                barrier(info)
                self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        finally:
            logger.close()
            torch.use_deterministic_algorithms(determinism[0], warn_only=determinism[1])
        self.epoch = epochs - 1
        best_path = self.out_dir / "best.safetensors"
        return FitResult(
            self.out_dir,
            self.out_dir / "last.safetensors",
            best_path if best_path.exists() else self.out_dir / "last.safetensors",
            self.epoch,
            self.step,
            dict(self.metrics),
            dict(self.best_metrics),
        )

    def _train_epoch(self, logger: RunLogger) -> None:
        config, info = self.config, self.info
        runtime = config.runtime
        self.module.train()
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=self.batch_in_epoch,
            desc=f"{self.module.stage} epoch {self.epoch + 1}/{config.optim.epochs}",
            disable=not (info.is_main and runtime.progress),
            dynamic_ncols=True,
            leave=False,
        )
        with bar:
            for batch in self.batches.epoch(self.epoch, skip=self.batch_in_epoch):
                parts = self._train_step(_to_device(batch, info.device))
                self.step += 1
                self.batch_in_epoch += 1
                bar.update(1)
                if self.step % max(1, runtime.log_every) == 0 or self.batch_in_epoch == self.steps_per_epoch:
                    values = {k: float(all_reduce_mean(info, v)) for k, v in parts.items()}
                    values["lr"] = self.scheduler.get_last_lr()[-1]  # the decoder's (full) rate
                    logger.scalars("train", values, self.step, epoch=self.epoch)
                    bar.set_postfix(loss=f"{values['loss']:.4f}")
                if (
                    runtime.checkpoint_every > 0
                    and self.step % runtime.checkpoint_every == 0
                    and self.batch_in_epoch < self.steps_per_epoch
                ):
                    self._save(best=False)

    def _train_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        with amp_context(self.info.device, self.config.runtime.amp):
            loss, parts = self.wrapped(batch)
        if not torch.isfinite(loss):
            raise RuntimeError(
                f"non-finite training loss {float(loss)} at step {self.step} (epoch {self.epoch}); "
                f"parts: { {k: float(v) for k, v in parts.items()} }. Lower optim.lr or check the data."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.module.trainable_parameters(), self.config.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return {"loss": loss.detach(), **parts}

    def _validate(self, logger: RunLogger) -> bool:
        """Validate on rank 0 (every ``runtime.val_every`` epochs and after the last); True if best."""
        config, info = self.config, self.info
        every = config.runtime.val_every
        last_epoch = self.epoch == config.optim.epochs - 1
        if self.val_loader is None or every <= 0 or not ((self.epoch + 1) % every == 0 or last_epoch):
            return self.val_loader is None or every <= 0
        if not info.is_main:
            return False
        self.module.eval()
        with amp_context(info.device, config.runtime.amp):
            self.metrics = evaluate_depth(
                self.module.predict,
                self.val_loader,
                info.device,
                self.module.depth_range[1],
                progress=config.runtime.progress,
                desc=f"validate epoch {self.epoch + 1}",
            )
        self.module.train()
        logger.scalars("val", self.metrics, self.step, epoch=self.epoch)
        best = self._is_better(self.metrics)
        if best:
            self.best_metrics = dict(self.metrics)
        summary = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items())
        tqdm.write(f"[{self.module.stage}] epoch {self.epoch + 1}: {summary}{' (best)' if best else ''}")
        return best


def sync_buffers(info: DistInfo, module: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm statistics) to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last step of an epoch each rank
    holds statistics updated by its own batch; this makes every rank hold the model rank 0 saves.
    """
    if info.distributed:
        for buffer in module.buffers():
            torch.distributed.broadcast(buffer.data, src=0)


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def _to_yaml(tree: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(tree), sort_keys=False)
