"""Demand patterns by ADI and CV² (Syntetos, Boylan & Croston 2005), learnt online per series.

    ADI = periods / periods with demand          (average inter-demand interval, ≥ 1)
    CV² = variance / mean² of the non-zero sizes (squared coefficient of variation)

                     CV² < 0.49      CV² ≥ 0.49
    ADI < 1.32       smooth          erratic
    ADI ≥ 1.32       intermittent    lumpy

`PatternStats` keeps exponentially weighted counts and size moments with a memory of `memory`
periods (weights decay by λ = 1 − 1/memory a period), so a SKU that changes character is
reclassified within a few memories. A series with fewer than two demands so far is lumpy (nothing
is known about its sizes, and the intermittent methods are the safe choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class DemandPattern(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"


def classify(adi: float, cv2: float) -> DemandPattern:
    if adi < ADI_CUTOFF:
        return DemandPattern.SMOOTH if cv2 < CV2_CUTOFF else DemandPattern.ERRATIC
    return DemandPattern.INTERMITTENT if cv2 < CV2_CUTOFF else DemandPattern.LUMPY


@dataclass(frozen=True, slots=True)
class PatternStats:
    """Exponentially weighted period and demand counts, and Σw·y, Σw·y² over demand sizes."""

    memory: float = 91.0
    periods: float = 0.0
    demands: float = 0.0
    size_sum: float = 0.0
    size_squares: float = 0.0

    def update(self, y: float) -> PatternStats:
        keep = 1.0 - 1.0 / self.memory
        hit = y > 0
        return PatternStats(
            self.memory,
            keep * self.periods + 1.0,
            keep * self.demands + (1.0 if hit else 0.0),
            keep * self.size_sum + (y if hit else 0.0),
            keep * self.size_squares + (y * y if hit else 0.0),
        )

    @property
    def adi(self) -> float:
        return self.periods / self.demands if self.demands > 0 else float("inf")

    @property
    def cv2(self) -> float:
        if self.demands <= 0 or self.size_sum <= 0:
            return float("inf")
        mean = self.size_sum / self.demands
        variance = max(0.0, self.size_squares / self.demands - mean * mean)
        return variance / (mean * mean)

    @property
    def pattern(self) -> DemandPattern:
        if self.demands < 2:
            return DemandPattern.LUMPY
        return classify(self.adi, self.cv2)
