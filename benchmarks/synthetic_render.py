"""Rendering speed of the synthetic scenes on one core (CPU time, so other jobs distort it less).

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/synthetic_render.py --seeds 20 --size 240 320

Prints, per kind, the median and p90 over seeds of the best of ``--repeats`` CPU times of
``render_scene(seed, H, W, kind)`` and the rate in frames/s. Run it with PYTHONPATH pointing at another
checkout to measure that renderer the same way (the call is the same for every renderer version).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from disdepth_core.data.synthetic import KINDS, render_scene


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    args = parser.parse_args(argv)
    h, w = args.size
    render_scene(0, 8, 8, KINDS[0])  # load textures once, outside the timing
    for kind in KINDS:
        best = []
        for seed in range(args.seeds):
            runs = []
            for _ in range(args.repeats):
                t0 = time.process_time()
                render_scene(seed, h, w, kind)
                runs.append(time.process_time() - t0)
            best.append(min(runs))
        ms = 1000 * np.array(best)
        print(
            f"{kind} {h}x{w}: median {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
            f"{1000 / np.median(ms):.0f} frames/s"
        )


if __name__ == "__main__":
    main()
