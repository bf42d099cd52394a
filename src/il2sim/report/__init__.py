"""What a person reads: figures and tables built from the public entry points below."""

from il2sim.report._cohort import response_table, write_cohort_report
from il2sim.report._design import write_design_report
from il2sim.report._pk import pk_comparison, plot_pk
from il2sim.report._sensitivity import tornado, write_sensitivity_report
from il2sim.report._signaling import SignalingComparison, plot_dose_response, signaling_comparison
from il2sim.report._therapy import summary_table, write_report

__all__ = [
    "SignalingComparison",
    "pk_comparison",
    "plot_dose_response",
    "plot_pk",
    "response_table",
    "signaling_comparison",
    "summary_table",
    "tornado",
    "write_cohort_report",
    "write_design_report",
    "write_report",
    "write_sensitivity_report",
]
