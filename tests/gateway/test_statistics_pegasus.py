"""Statistics over rows copied from Pegasus's own stampede.db equal what pegasus-statistics
5.1.3 printed for the same run (tests/parity/expected), byte for byte. (The fixture's own
statistics/summary.txt came from an older Pegasus whose legend differs in two lines.)"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.orm import Session
from stampede_copy import copy_stampede

from gateway.services import statistics as st
from gateway.services.statistics_text import render_summary

SHARED = Path(os.environ.get("AERIE_SHARED_DIR", Path(__file__).parents[2] / ".." / "shared"))
SAMPLES = SHARED / "pegasus" / "fixtures" / "submit-dirs"
EXPECTED = Path(__file__).parents[1] / "parity" / "expected"


def test_summary_of_held_sample_matches_pegasus_byte_for_byte(session: Session) -> None:
    sample = SAMPLES / "sample_wf_held"
    ids = copy_stampede(session, sample / "Drug-Combination-Therapy-0.stampede.db", 1000)
    wf_id = ids["7a53210c-eb8a-4986-8c14-80e6e523598f"]
    text = render_summary(st.summary(session, wf_id))
    assert text == (EXPECTED / "sample_wf_held" / "summary.txt").read_text()
