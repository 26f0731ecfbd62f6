"""The one evaluation package: metrics, alignment modes, the scoring rule, protocols and reports.

``disdepth eval``, ``eval-bag``, the demo, training validation and the benchmarks all score depth here
(:class:`DepthScorer`), so two commands never disagree about one model on the same data.
"""

from disdepth_core.evaluation.alignment import ALIGNMENT_LABELS, ALIGNMENTS, align
from disdepth_core.evaluation.dataset_eval import DatasetResult, evaluate_estimator, focal_of
from disdepth_core.evaluation.metrics import METRIC_KEYS, METRIC_LABELS, depth_errors
from disdepth_core.evaluation.protocols import DATASETS, PROTOCOLS, protocol_for
from disdepth_core.evaluation.scoring import DepthScorer, EvalRange, FrameScore, score_frame
from disdepth_core.evaluation.tables import accuracy_line, coverage_note, format_summary, format_table

__all__ = [
    "ALIGNMENTS",
    "ALIGNMENT_LABELS",
    "DATASETS",
    "METRIC_KEYS",
    "METRIC_LABELS",
    "PROTOCOLS",
    "DatasetResult",
    "DepthScorer",
    "EvalRange",
    "FrameScore",
    "accuracy_line",
    "align",
    "coverage_note",
    "depth_errors",
    "evaluate_estimator",
    "focal_of",
    "format_summary",
    "format_table",
    "protocol_for",
    "score_frame",
]
