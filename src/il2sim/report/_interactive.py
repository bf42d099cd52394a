"""Interactive (Plotly) versions of the figures a reader explores in the web app: hover for
values, zoom, toggle arms in the legend. They draw the same data as the static figures of the
HTML reports (``therapy_panels``, ``km_curves``), so both always agree."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from il2sim.cohort import CohortResult
from il2sim.report._cohort import km_curves
from il2sim.report._therapy import leak_threshold, therapy_panels
from il2sim.simulate import TherapyResult

#: Qualitative colours shared by every trace of one arm (matplotlib's, as in the reports).
_COLOURS = tuple(qualitative.D3)


def therapy_plotly(result: TherapyResult, setting: str) -> go.Figure:
    """The eight time-course panels of a therapy setting, one colour per arm across all panels
    (one legend entry toggles the arm everywhere), the severe vascular-leak threshold dashed."""
    panels = therapy_panels(result, setting)
    fig = make_subplots(
        rows=2, cols=4, subplot_titles=[p[0] for p in panels], horizontal_spacing=0.06
    )
    colour: dict[str, str] = {}
    for k, (title, logy, lines) in enumerate(panels):
        row, col = divmod(k, 4)
        for label, x, y in lines:
            first = label not in colour
            c = colour.setdefault(label, _COLOURS[len(colour) % len(_COLOURS)])
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=label,
                    legendgroup=label,
                    showlegend=first,
                    line={"color": c, "width": 1.6},
                    hovertemplate=f"{label}<br>day %{{x:.1f}}: %{{y:.3g}}<extra>{title}</extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
        if title.startswith("vascular-leak"):
            fig.add_hline(
                y=leak_threshold(), line_dash="dash", line_color="#555", row=row + 1, col=col + 1
            )
        fig.update_xaxes(title_text="days of treatment", row=row + 1, col=col + 1)
        if logy:
            fig.update_yaxes(type="log", exponentformat="power", row=row + 1, col=col + 1)
    fig.update_layout(
        height=680, margin={"l": 40, "r": 20, "t": 60, "b": 40}, legend={"orientation": "h"}
    )
    return fig


def km_plotly(result: CohortResult) -> go.Figure:
    """Kaplan-Meier progression-free survival in months: steps, 95% band, censoring marks,
    and the numbers at risk under each tick."""
    ticks, end, curves = km_curves(result)
    fig = go.Figure()
    for k, c in enumerate(curves):
        colour = _COLOURS[k % len(_COLOURS)]
        if c.band is not None:
            t, lo, hi = c.band
            for y, fill in ((hi, None), (lo, "tonexty")):
                fig.add_trace(
                    go.Scatter(
                        x=t,
                        y=y,
                        line={"shape": "hv", "width": 0, "color": colour},
                        fill=fill,
                        opacity=0.2,
                        legendgroup=c.arm,
                        showlegend=False,
                        hoverinfo="skip",
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=c.t_months,
                y=c.s,
                name=c.arm,
                legendgroup=c.arm,
                line={"shape": "hv", "color": colour},
                hovertemplate=f"{c.arm}<br>%{{x:.1f}} months: %{{y:.2f}}<extra></extra>",
            )
        )
        if c.censored[0].size:
            fig.add_trace(
                go.Scatter(
                    x=c.censored[0],
                    y=c.censored[1],
                    mode="markers",
                    marker={"symbol": "line-ns-open", "size": 9, "color": colour},
                    legendgroup=c.arm,
                    showlegend=False,
                    hovertemplate=f"{c.arm}: censored at %{{x:.1f}} months<extra></extra>",
                )
            )
    if curves:
        fig.add_annotation(
            x=0,
            y=-0.21,
            xref="paper",
            yref="paper",
            text="at risk",
            showarrow=False,
            xanchor="right",
        )
    for k, c in enumerate(curves):  # numbers at risk under the axis, one row per arm
        row_y = -0.28 - 0.07 * k
        fig.add_annotation(
            x=0, y=row_y, xref="paper", yref="paper", text=c.arm, showarrow=False, xanchor="right"
        )
        for m, n in zip(ticks, c.at_risk, strict=True):
            fig.add_annotation(
                x=m,
                y=row_y,
                xref="x",
                yref="paper",
                text=str(n),
                showarrow=False,
                font={"size": 11},
            )
    fig.update_xaxes(
        title_text="months since the start of treatment",
        range=[0, end],
        tickvals=list(ticks),
        ticktext=[f"{m:g}" for m in ticks],
    )
    fig.update_yaxes(title_text="progression-free", range=[0, 1.02])
    fig.update_layout(
        title="Progression-free survival (Kaplan-Meier, 95% band; | censored)",
        height=460 + 24 * len(curves),
        margin={"l": 140, "r": 20, "t": 60, "b": 90 + 24 * len(curves)},
    )
    return fig
