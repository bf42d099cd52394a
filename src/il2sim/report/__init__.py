"""What a person reads: figures and tables built from the public entry points below."""

from il2sim.report._cohort import (
    comparison_table,
    forest_figure,
    km_figure,
    response_table,
    waterfall_spider_figure,
    write_cohort_report,
)
from il2sim.report._design import write_design_report
from il2sim.report._fit import fit_figure, parameter_table, profile_figure, write_fit_report
from il2sim.report._interactive import km_plotly, therapy_plotly
from il2sim.report._pk import pk_comparison, pk_figure, plot_pk
from il2sim.report._sensitivity import tornado, write_sensitivity_report
from il2sim.report._signaling import (
    DEMO_CELLS,
    SignalingComparison,
    compare_dose_response_figure,
    compare_potency,
    plot_dose_response,
    signaling_comparison,
)
from il2sim.report._therapy import (
    comparison_figure,
    summary_table,
    therapy_figure,
    write_report,
)
from il2sim.report._validation import validation_table, write_validation_report

__all__ = [
    "DEMO_CELLS",
    "SignalingComparison",
    "compare_dose_response_figure",
    "compare_potency",
    "comparison_figure",
    "comparison_table",
    "fit_figure",
    "forest_figure",
    "km_figure",
    "km_plotly",
    "parameter_table",
    "pk_comparison",
    "pk_figure",
    "plot_dose_response",
    "plot_pk",
    "profile_figure",
    "response_table",
    "signaling_comparison",
    "summary_table",
    "therapy_figure",
    "therapy_plotly",
    "tornado",
    "validation_table",
    "waterfall_spider_figure",
    "write_cohort_report",
    "write_design_report",
    "write_fit_report",
    "write_report",
    "write_sensitivity_report",
    "write_validation_report",
]
