"""The README's intermediate-table walkthrough (examples/intermediate_tables.py) runs against the
emulator and prints the expected answer, so the documented example cannot rot."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "intermediate_tables.py"

pytestmark = pytest.mark.usefixtures("reset")


def test_intermediate_tables_walkthrough(emulator, monkeypatch, capsys):
    monkeypatch.setenv("CLEANROOMS_EMULATOR_ENDPOINT", emulator.url)
    spec = importlib.util.spec_from_file_location("walkthrough", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main()
    # u1: 10 + 5.5, u3: 7.25 (gold); u2: 20 (silver); u4 bought nothing; u9 is no customer.
    assert rows == [["segment", "spend"], ["gold", "22.75"], ["silver", "20.0"]]
    out = capsys.readouterr().out
    assert "POPULATE_SUCCESS" in out and out.count("POPULATE_SUCCESS") >= 3
    assert os.environ["CLEANROOMS_EMULATOR_ENDPOINT"] == emulator.url
