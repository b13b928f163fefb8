"""``compare``: train a model with each imbalance strategy on the same data and rank them.

The pieces: :mod:`~counterpoise.compare.data` (the built-in data set or the user's table, split
and prepared, and split again), :mod:`~counterpoise.compare.references` (the scikit-learn
models a user of tables would try first), :mod:`~counterpoise.compare.strategies` (the
registry), :mod:`~counterpoise.compare.training` (one run), :mod:`~counterpoise.compare.runner`
(all runs, summarised) and :mod:`~counterpoise.compare.report` (results.json, report.md, plots,
HTML).

Multiclass data (one label column) and multilabel data (several 0/1 label columns) go through
the same pieces; each strategy says which task it is for, and multilabel comparisons are ranked
by mean average precision, reported for the head, medium and tail labels.

:mod:`~counterpoise.compare.model` compares the strategies on the user's own PyTorch model and
data sets (:func:`compare_model`), or with the user's own training loop (:func:`compare_custom`);
their runs execute in local worker processes or as Ray tasks
(:mod:`~counterpoise.compare.ray_executor`), and are saved as they finish so that an interrupted
comparison resumes (:mod:`~counterpoise.compare.run_store`).
"""

from .data import ColumnStep, Splits, default_num_splits, load_builtin, load_user_data
from .execution import LocalExecutor, RunsFailed
from .model import TrainingRun, compare_custom, compare_model
from .ray_executor import RayExecutor
from .references import REFERENCES, reference_probabilities
from .report import write_report
from .runner import CompareConfig, CompareResult, run_compare
from .strategies import STRATEGIES, Strategy, get_strategies, register
from .training import TrainConfig

__all__ = [
    "REFERENCES",
    "STRATEGIES",
    "ColumnStep",
    "CompareConfig",
    "CompareResult",
    "LocalExecutor",
    "RayExecutor",
    "RunsFailed",
    "Splits",
    "Strategy",
    "TrainConfig",
    "TrainingRun",
    "compare_custom",
    "compare_model",
    "default_num_splits",
    "get_strategies",
    "load_builtin",
    "load_user_data",
    "reference_probabilities",
    "register",
    "run_compare",
    "write_report",
]
