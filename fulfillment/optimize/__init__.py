"""Wave (batch) allocation of backorders as a MIP (scipy.optimize.milp, HiGHS),
compared with first-come greedy on the same orders."""

from .greedy import solve_greedy
from .mip import solve_mip
from .model import Plan, Problem, Score, Solved, WaveLine, WaveOrder, score, violations
from .services import WaveReport, backorders_optimize, wave_apply

__all__ = [
    "Plan",
    "Problem",
    "Score",
    "Solved",
    "WaveLine",
    "WaveOrder",
    "WaveReport",
    "backorders_optimize",
    "score",
    "solve_greedy",
    "solve_mip",
    "violations",
    "wave_apply",
]
