"""Helpers shared by the test modules."""

from __future__ import annotations


def tiny_scenario(name: str = "tiny", ld_regimen: str = "1e6 IU/m2/day SC for 3 days") -> dict:
    """A one-week therapy scenario small enough for tests: chronic LCMV-like infection in a
    mouse, untreated and low-dose IL-2 (arm ``ld``, given ``ld_regimen``)."""
    return {
        "name": name,
        "duration_days": 7,
        "run_in_days": 5,
        "readout_days": [3, 7],
        "settings": [
            {
                "name": "mouse",
                "body": "mouse_adult",
                "disease": "chronic_infection",
                "arms": [
                    {"name": "untreated"},
                    {"name": "ld", "drug": "aldesleukin", "regimen": ld_regimen},
                ],
            }
        ],
    }
