"""The scripted incident renders to the golden file, byte for byte, every time.

To regenerate after an intended change: UPDATE_GOLDEN=1 pytest tests/postmortem/test_golden.py,
then read the diff of golden/scripted.md before keeping it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from bot.postmortem import render_postmortem
from tests.postmortem.scripted import scripted, scripted_aftercare

GOLDEN = Path(__file__).parent / "golden" / "scripted.md"


def test_scripted_incident_matches_the_golden_file_twice() -> None:
    incident, events, alerts = scripted()
    first = render_postmortem(incident, events, alerts, **scripted_aftercare())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(first.encode("utf-8"))
    expected = GOLDEN.read_bytes()
    assert first.encode("utf-8") == expected
    assert render_postmortem(incident, events, alerts, **scripted_aftercare()).encode("utf-8") == expected


def test_input_order_does_not_change_the_bytes() -> None:
    incident, events, alerts = scripted()
    expected = GOLDEN.read_bytes()
    shuffled_events, shuffled_alerts = list(events), list(alerts)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled_events)
        random.Random(seed).shuffle(shuffled_alerts)
        assert render_postmortem(incident, shuffled_events, shuffled_alerts, **scripted_aftercare()).encode("utf-8") == expected


def test_rendering_is_stable_across_processes_with_different_hash_seeds() -> None:
    import subprocess
    import sys

    code = ("import sys; from bot.postmortem import render_postmortem; "
            "from tests.postmortem.scripted import scripted, scripted_aftercare; "
            "sys.stdout.buffer.write(render_postmortem(*scripted(), **scripted_aftercare()).encode())")
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert outputs == {GOLDEN.read_bytes()}
