"""Multi-year compute contracts: the labs' commitments and, seen from the other side, the
giants' backlog (remaining performance obligations, RPO).

A contract has a total value, a start step and a length; once started it asks for an even
weekly volume (`weekly`). Compute actually delivered and paid for is consumed from the
remaining value. When a lab cannot pay, part of the remaining value is cancelled: that is
the giant's backlog impairment, reported in the quarter it happens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ComputeContract:
    giant: str
    lab: str
    remaining: float
    start_step: int
    weekly: float

    @classmethod
    def new(cls, giant: str, lab: str, value: float, start_step: int, years: float) -> ComputeContract:
        return cls(giant, lab, value, start_step, value / (years * 52.0))

    def due(self, step: int) -> float:
        """Volume the contract asks for this step."""
        if step < self.start_step or self.remaining <= 0.0:
            return 0.0
        return min(self.weekly, self.remaining)

    def due_at(self, step: int, now: int) -> float:
        """Volume the contract will ask for at a future `step`, if all due till then is paid."""
        if step < self.start_step:
            return 0.0
        paid_before = self.weekly * max(0, step - max(now, self.start_step))
        return min(self.weekly, max(0.0, self.remaining - paid_before))

    def due_over(self, step: int, weeks: int) -> float:
        """Volume asked for over the next `weeks` steps (used to size funding rounds)."""
        active = max(0, step + weeks - max(step, self.start_step))
        return min(self.remaining, self.weekly * active)

    def consume(self, amount: float) -> None:
        self.remaining = max(0.0, self.remaining - amount)

    def cancel(self, fraction: float) -> float:
        """Cancel a fraction of what remains and of the weekly volume; return the value cancelled."""
        cancelled = self.remaining * fraction
        self.remaining -= cancelled
        self.weekly *= 1.0 - fraction
        return cancelled
