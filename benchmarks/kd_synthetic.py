"""KD on synthetic scenes: does DisDepth / Hu et al. distillation help a small student at a fixed budget?

Trains, on procedural synthetic rooms (``disdepth_core.data.synthetic``), with fixed step budgets:

  (a) ``teacher``               teacher-tiny (transformer), supervised
  (b) ``student_supervised``    the student, supervised only
  (c) ``student_kd``            DisDepth: ghost decoder (acclimated teacher) + attentive feature KD
  (d) ``student_kd_unlabeled``  (c) + Hu et al. output KD on auxiliary unlabeled images (pseudo-labels)
  (e) ``ablation_no_lgconv``    (c) without LG-Conv in the student
      ``ablation_mse_kd``       (c) with plain (uniform) feature KD instead of attentive
      ``ablation_no_ghost``     (c) imitating the raw teacher encoder features (no acclimation)

and evaluates every model on the same held-out synthetic test set through the runtime
(``disdepth_core.train.evaluation``). Every run is the real CLI (``disdepth train|acclimate|distill``)
in a subprocess with one torch thread; ``--lanes`` runs that many at once (a dependency-aware queue),
so on 2 cores the experiment takes about half the sequential time. Writes ``docs/kd_synthetic.json``
and ``docs/kd_synthetic.md``; checkpoints go to ``--out`` (default ``runs/kd_synthetic``).

    python benchmarks/kd_synthetic.py            # full experiment (~25-30 min on 2 free cores)
    python benchmarks/kd_synthetic.py --quick    # smoke test (~2 min), writes under runs/ only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "disdepth_core.cli.main"]
STUDENT = "disdepth-mbv2"
# LG-Conv on the dense 3x3 convs only: wrapping MobileNetV2's depthwise convs too costs 2-4x the
# training time on a CPU (memory-bound elementwise ops at full resolution), see docs/kd_synthetic.md.
STUDENT_OVERRIDES = {"width_mult": 1.0, "lgconv": True, "lgconv_depthwise": False, "max_depth": 10.0}


@dataclass(frozen=True)
class Budget:
    """Resolution, data sizes and step budgets of one experiment mode."""

    height: int
    width: int
    batch: int
    unlabeled_batch: int
    train_size: int
    unlabeled_size: int
    val_size: int
    test_size: int
    test_height: int
    test_width: int
    student_epochs: int
    student_steps: int
    teacher_epochs: int
    teacher_steps: int
    acclimate_epochs: int
    acclimate_steps: int


FULL = Budget(128, 160, 8, 4, 4096, 4096, 64, 256, 256, 320, 4, 90, 5, 200, 2, 100)
QUICK = Budget(64, 96, 4, 2, 64, 64, 8, 16, 128, 192, 2, 4, 2, 6, 1, 4)
SEEDS = {"run": 0, "train": 0, "val": 10_000, "unlabeled": 20_000, "test": 30_000}


@dataclass
class Job:
    """One CLI run: its name, dependencies and command."""

    name: str
    deps: tuple[str, ...]
    command: list[str]
    out: Path
    started: float = 0.0
    seconds: float = 0.0
    process: subprocess.Popen | None = field(default=None, repr=False)


def common_overrides(b: Budget) -> list[str]:
    sets = {
        "data.height": b.height,
        "data.width": b.width,
        "data.batch_size": b.batch,
        "data.train.size": b.train_size,
        "data.train.seed": SEEDS["train"],
        "data.val.size": b.val_size,
        "data.val.seed": SEEDS["val"],
        "runtime.threads": 1,
        "runtime.progress": "false",
        "seed": SEEDS["run"],
    }
    return [arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]


def steps(epochs: int, per_epoch: int) -> list[str]:
    return ["--epochs", str(epochs), "--set", f"optim.max_steps_per_epoch={per_epoch}"]


def student_model(**overrides: object) -> list[str]:
    merged = {**STUDENT_OVERRIDES, **overrides}
    flow = ", ".join(f"{k}: {json.dumps(v)}" for k, v in merged.items())
    return ["--set", f"model.name={STUDENT}", "--set", f"model.overrides={{{flow}}}"]


def build_jobs(out: Path, b: Budget) -> list[Job]:
    cfg = REPO / "config" / "train"
    common = common_overrides(b)
    student_steps = steps(b.student_epochs, b.student_steps)
    teacher_ckpt = out / "teacher" / "last.safetensors"
    acclimated = out / "acclimated" / "last.safetensors"

    def job(name: str, deps: tuple[str, ...], stage: str, recipe: str, *extra: str) -> Job:
        command = [*CLI, stage, str(cfg / recipe), "--out", str(out / name), *common, *extra]
        return Job(name, deps, command, out / name)

    distill = ("distill", "distill_synthetic.yaml")
    no_unlabeled = ("--set", "data.unlabeled.kind=none")
    kd = ("--teacher", str(acclimated))
    return [
        job("teacher", (), "train", "teacher_synthetic.yaml", *steps(b.teacher_epochs, b.teacher_steps)),
        job("student_supervised", (), "train", "student_synthetic.yaml", *student_steps, *student_model()),
        job(
            "acclimated",
            ("teacher", "student_supervised"),
            "acclimate",
            "acclimate_synthetic.yaml",
            *steps(b.acclimate_epochs, b.acclimate_steps),
            "--teacher",
            str(teacher_ckpt),
            "--student",
            str(out / "student_supervised" / "last.safetensors"),
        ),
        job(
            "ablation_no_ghost",
            ("teacher",),
            *distill,
            *student_steps,
            *student_model(),
            *no_unlabeled,
            "--teacher",
            str(teacher_ckpt),
            "--set",
            "distill.ghost=false",
        ),
        job(
            "student_kd_unlabeled",
            ("acclimated",),
            *distill,
            *student_steps,
            *student_model(),
            *kd,
            "--set",
            f"data.unlabeled={{kind: synthetic, size: {b.unlabeled_size}, seed: {SEEDS['unlabeled']}, "
            f"batch_size: {b.unlabeled_batch}}}",
        ),
        job("student_kd", ("acclimated",), *distill, *student_steps, *student_model(), *no_unlabeled, *kd),
        job(
            "ablation_mse_kd",
            ("acclimated",),
            *distill,
            *student_steps,
            *student_model(),
            *no_unlabeled,
            *kd,
            "--set",
            "distill.feature_kd=mse",
        ),
        job(
            "ablation_no_lgconv",
            ("acclimated",),
            *distill,
            *student_steps,
            *student_model(lgconv=False),
            *no_unlabeled,
            *kd,
        ),
    ]


DIAGNOSTIC_TEACHER_FACTOR = 3


def build_diagnostic_jobs(out: Path, main_dir: Path, b: Budget) -> list[Job]:
    """A CNN teacher (the student architecture, ``DIAGNOSTIC_TEACHER_FACTOR`` x the student budget),
    its acclimation with the main run's supervised student, and KD runs (c) and (d) from it."""
    reference = main_dir / "student_supervised" / "last.safetensors"
    if not reference.is_file():
        raise FileNotFoundError(f"{reference} missing: run the main experiment first")
    main_jobs = {job.name: job for job in build_jobs(out, b)}
    teacher_steps = steps(b.student_epochs, b.student_steps * DIAGNOSTIC_TEACHER_FACTOR)
    recipe = str(REPO / "config" / "train" / "student_synthetic.yaml")
    teacher = Job(
        "teacher",
        (),
        [
            *CLI,
            "train",
            recipe,
            "--out",
            str(out / "teacher"),
            *common_overrides(b),
            *teacher_steps,
            *student_model(),
        ],
        out / "teacher",
    )
    acclimate = main_jobs["acclimated"]
    command = list(acclimate.command)
    command[command.index("--student") + 1] = str(reference)
    jobs = [teacher, Job("acclimated", ("teacher",), command, acclimate.out)]
    return [*jobs, main_jobs["student_kd"], main_jobs["student_kd_unlabeled"]]


def run_jobs(jobs: list[Job], lanes: int, log_dir: Path) -> None:
    """Run ``jobs`` respecting dependencies, at most ``lanes`` at once; stop everything on a failure."""
    pending, running, done = list(jobs), [], set()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log_dir.mkdir(parents=True, exist_ok=True)
    while pending or running:
        for job in [j for j in pending if set(j.deps) <= done][: max(0, lanes - len(running))]:
            pending.remove(job)
            log = (log_dir / f"{job.name}.log").open("w")
            print(f"[kd_synthetic] start {job.name}: {shlex.join(job.command)}", flush=True)
            job.started = time.time()
            job.process = subprocess.Popen(
                job.command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            running.append(job)
        time.sleep(2.0)
        for job in list(running):
            code = job.process.poll()
            if code is None:
                continue
            running.remove(job)
            job.seconds = time.time() - job.started
            if code != 0:
                for other in running:
                    other.process.terminate()
                raise RuntimeError(f"{job.name} failed (exit {code}); see {log_dir / (job.name + '.log')}")
            done.add(job.name)
            print(f"[kd_synthetic] done {job.name} in {job.seconds / 60:.1f} min", flush=True)


def evaluate(jobs: list[Job], b: Budget) -> list[dict[str, object]]:
    """Metrics of every final (``last``) model on the held-out test set, plus params and GFLOPs."""
    import torch

    from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset
    from disdepth_core.evaluation import evaluate_estimator, protocol_for
    from disdepth_core.models.checkpoint import load_model
    from disdepth_core.profiling import profile_model
    from disdepth_core.runtime import load_estimator

    torch.set_num_threads(2)
    test = SyntheticDepthDataset(b.test_size, b.test_height, b.test_width, SEEDS["test"], ("room",))
    protocol = protocol_for("synthetic", ("room",))
    rows = []
    for job in jobs:
        if job.name == "acclimated":
            continue
        path = job.out / "last.safetensors"
        model, _ = load_model(path)
        cost = profile_model(model, b.height, b.width)
        metrics = evaluate_estimator(load_estimator(path, device="cpu"), test, protocol, progress=False)
        metrics = metrics.summary["raw"]
        rows.append(
            {
                "name": job.name,
                "abs_rel": round(metrics["abs_rel"], 4),
                "rmse": round(metrics["rmse"], 4),
                "delta1": round(metrics["d1"], 4),
                "params": cost.params,
                "gflops": round(cost.gflops, 3),
                "sq_rel": round(metrics["sq_rel"], 4),
                "rmse_log": round(metrics["rmse_log"], 4),
                "silog": round(metrics["silog"], 3),
                "train_minutes": round(job.seconds / 60, 1),
                "checkpoint": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path),
            }
        )
        print(f"[kd_synthetic] {job.name}: {rows[-1]}", flush=True)
    return rows


FINDINGS_MARKER = "<!-- findings: written by hand, kept when the tables are regenerated -->"


def write_results(out: Path, rows: list[dict[str, object]], total_s: float, argv: list[str]) -> None:
    payload = {"rows": rows, "total_minutes": round(total_s / 60, 1), "argv": argv}
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _table(rows: list[dict[str, object]]) -> list[str]:
    lines = [
        "| name | AbsRel | RMSE (m) | delta1 | params | GFLOPs | train min |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['abs_rel']:.4f} | {r['rmse']:.3f} | {r['delta1']:.4f} | "
            f"{r['params'] / 1e6:.2f} M | {r['gflops']:.3f} | {r['train_minutes']} |"
        )
    return lines


def write_docs(main_dir: Path, diagnostic_dir: Path | None, b: Budget) -> None:
    """``docs/kd_synthetic.{json,md}`` from the saved results (hand-written findings are kept)."""
    main = json.loads((main_dir / "results.json").read_text(encoding="utf-8"))
    rows = list(main["rows"])
    diagnostic = None
    if diagnostic_dir is not None and (diagnostic_dir / "results.json").is_file():
        diagnostic = json.loads((diagnostic_dir / "results.json").read_text(encoding="utf-8"))
        rows += [{**r, "name": f"diagnostic_cnn_teacher_{r['name']}"} for r in diagnostic["rows"]]
    json_path, md_path = REPO / "docs" / "kd_synthetic.json", REPO / "docs" / "kd_synthetic.md"
    json_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    findings = ""
    if md_path.is_file() and FINDINGS_MARKER in md_path.read_text(encoding="utf-8"):
        findings = md_path.read_text(encoding="utf-8").split(FINDINGS_MARKER, 1)[1]
    command = shlex.join(["python", "benchmarks/kd_synthetic.py", *main["argv"]])
    lines = [
        "# KD on synthetic scenes (measured)",
        "",
        "Tables generated by `benchmarks/kd_synthetic.py` from `runs/kd_synthetic*/results.json`; the "
        "findings at the end are written by hand.",
        "",
        f"Command: `{command}`: {main['total_minutes']} min wall time on a {os.cpu_count()}-core CPU "
        f"({platform.machine()}) shared with other jobs; runs in 2 parallel lanes, one torch thread each.",
        "",
        *_table(main["rows"]),
        "",
        f"GFLOPs at the {b.height}x{b.width} input, batch 1, multiply-add = 2 FLOPs "
        "(`disdepth_core.profiling`). `train min` is each run's wall time (lanes overlap).",
    ]
    if diagnostic is not None:
        lines += [
            "",
            "### Diagnostic: a stronger (CNN) teacher",
            "",
            f"`{shlex.join(['python', 'benchmarks/kd_synthetic.py', *diagnostic['argv']])}` "
            f"({diagnostic['total_minutes']} min): the teacher is the student architecture trained "
            f"{DIAGNOSTIC_TEACHER_FACTOR}x longer; acclimation and KD exactly as above (ghost decoder from "
            "`student_supervised`).",
            "",
            *_table(diagnostic["rows"]),
        ]
    lines += [
        "",
        "## Setup",
        "",
        f"- Data: procedural rooms (`render_scene`, kind `room`, 0.1-10 m). Train set seed {SEEDS['train']} "
        f"({b.train_size} scenes), validation seed {SEEDS['val']} ({b.val_size}), unlabeled seed "
        f"{SEEDS['unlabeled']} ({b.unlabeled_size}, depth dropped), test seed {SEEDS['test']} "
        f"({b.test_size} scenes rendered at {b.test_height}x{b.test_width}). Run seed {SEEDS['run']}.",
        f"- Input {b.height}x{b.width}, batch {b.batch} (+{b.unlabeled_batch} unlabeled for (d)), "
        "AdamW + OneCycleLR (peak 1e-3), BTS/AdaBins augmentation.",
        f"- Budgets (optimizer steps): teacher {b.teacher_epochs}x{b.teacher_steps}, every student "
        f"{b.student_epochs}x{b.student_steps}, acclimation {b.acclimate_epochs}x{b.acclimate_steps}.",
        f"- Student: `{STUDENT}` with {json.dumps(STUDENT_OVERRIDES)}; teacher: `teacher-tiny`.",
        "- KD settings (`config/train/distill_synthetic.yaml`): feature weight 0.5, attentive KD loss with "
        "its defaults, output KD weight 1.0 on the unlabeled batch, pseudo-labels from the teacher's head.",
        "- Evaluation: the final (`last`) checkpoint of each run, no checkpoint selection, through "
        "`disdepth_core.runtime.load_estimator` (torch backend, resize to the model input and back), "
        "metrics per image in 1e-3..10 m, no crop, averaged (`disdepth_core.evaluation`).",
        "",
        "## Commands",
        "",
    ]
    lines += [f"- {job.name}: `{shlex.join(_relative(job.command))}`" for job in build_jobs(main_dir, b)]
    if diagnostic is not None:
        jobs = build_diagnostic_jobs(diagnostic_dir, main_dir, b)
        lines += [f"- diagnostic {job.name}: `{shlex.join(_relative(job.command))}`" for job in jobs]
    text = "\n".join(lines) + "\n\n" + FINDINGS_MARKER + (findings or "\n")
    md_path.write_text(text, encoding="utf-8")
    print(f"[kd_synthetic] wrote {json_path} and {md_path}", flush=True)


def _relative(command: list[str]) -> list[str]:
    out = ["python" if c == sys.executable else c for c in command]
    return [str(Path(c).relative_to(REPO)) if c.startswith(str(REPO)) else c for c in out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke test; does not touch docs/")
    parser.add_argument(
        "--cnn-teacher",
        action="store_true",
        help="diagnostic: teacher = the student architecture trained longer; KD (c), (d) from it",
    )
    parser.add_argument("--docs-only", action="store_true", help="rewrite docs/ from saved results")
    parser.add_argument("--out", type=Path, help="run directory (default runs/kd_synthetic[_quick])")
    parser.add_argument("--lanes", type=int, default=2, help="runs at once (one torch thread each)")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    budget = QUICK if args.quick else FULL
    suffix = "_quick" if args.quick else ""
    main_dir = (args.out or REPO / "runs" / f"kd_synthetic{suffix}").resolve()
    diagnostic_dir = REPO / "runs" / f"kd_synthetic{suffix}_cnn_teacher"
    if args.docs_only:
        write_docs(main_dir, diagnostic_dir, budget)
        return 0
    out = diagnostic_dir if args.cnn_teacher else main_dir
    jobs = build_diagnostic_jobs(out, main_dir, budget) if args.cnn_teacher else build_jobs(out, budget)
    start = time.time()
    run_jobs(jobs, args.lanes, out / "logs")
    rows = evaluate(jobs, budget)
    total = time.time() - start
    write_results(out, rows, total, argv)
    if not args.quick:
        write_docs(main_dir, diagnostic_dir, budget)
    print(f"[kd_synthetic] finished in {total / 60:.1f} min; results in {out / 'results.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
