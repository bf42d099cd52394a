"""Self-contained HTML pages: figures embedded as base64 PNG, one style for every report."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1500px}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}"
    "th{background:#eee}"
)


def png_base64(fig) -> str:
    """A figure as base64 PNG for embedding in a self-contained page (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def img(png: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png}'/>"


def page(title: str, parts: list[str]) -> str:
    """A whole page: ``title`` (escaped) and body ``parts`` (HTML)."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>"
    )
