"""What a person reads: figures and tables built from the public entry points below."""

from il2sim.report._pk import plot_pk
from il2sim.report._signaling import SignalingComparison, plot_dose_response, signaling_comparison

__all__ = ["SignalingComparison", "plot_dose_response", "plot_pk", "signaling_comparison"]
