"""Calibration of the top-label probability: the binned statistics behind the expected
calibration error and the reliability diagram.

The calibration error is the usual binned top-label form (Guo et al., ICML 2017), as torchmetrics
computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive_int

__all__ = ["CalibrationBins"]


@dataclass(frozen=True)
class CalibrationBins:
    """Top-label calibration statistics in ``B`` equal-width confidence bins.

    Bin ``b`` holds the samples whose top probability lies in
    :math:`(b / B, (b + 1) / B]` (a confidence of exactly 0 goes to the first bin). These sums
    are all that the calibration error and the reliability diagram need, and they add up over
    batches and processes.

    Attributes:
        count: int64 (B,), samples per bin.
        confidence: float64 (B,), the sum of their top probabilities.
        correct: float64 (B,), how many of them were predicted right.
    """

    count: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, probs: np.ndarray, y: np.ndarray, n_bins: int) -> CalibrationBins:
        """The bins of probabilities (N, C) for true classes (N,); a prediction is right when
        the top class is the true one."""
        n_bins = check_positive_int("n_bins", n_bins)
        conf = probs.max(axis=1)
        right = probs.argmax(axis=1) == y
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        which = np.searchsorted(edges[1:-1], conf, side="left")
        return cls(
            count=np.bincount(which, minlength=n_bins).astype(np.int64),
            confidence=np.bincount(which, weights=conf, minlength=n_bins),
            correct=np.bincount(which, weights=right, minlength=n_bins),
        )

    def __add__(self, other: CalibrationBins) -> CalibrationBins:
        return CalibrationBins(
            self.count + other.count,
            self.confidence + other.confidence,
            self.correct + other.correct,
        )

    @property
    def ece(self) -> float:
        """Expected calibration error:
        :math:`\\sum_b \\frac{|B_b|}{N} |\\text{acc}(B_b) - \\text{conf}(B_b)|`."""
        return float(np.abs(self.correct - self.confidence).sum() / self.count.sum())
