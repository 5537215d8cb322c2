"""The agents of the model, one Mesa `Agent` subclass per family (design section 3)."""

from agents.giant import TechGiant
from agents.lab import AILab

__all__ = ["AILab", "TechGiant"]
