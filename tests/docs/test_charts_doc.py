"""The charts committed under docs/images/ are exactly what docs/gen_charts.py draws now,
and one of them renders in a real browser (headless Chromium) to a picture of its size."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_charts", ROOT / "docs" / "gen_charts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_charts"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.mark.parametrize("name", sorted(gen.CHARTS))
def test_committed_chart_is_current(name):
    committed = (ROOT / "docs" / "images" / name).read_text()
    assert committed == gen.render(name), "run: python docs/gen_charts.py"


@pytest.mark.slow
def test_chart_renders_in_chromium(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium is not None, "CI installs Debian's chromium (.ci/run)"
    svg = ROOT / "docs" / "images" / "raft-forget-vote.svg"
    root = ET.fromstring(svg.read_text())
    width, height = int(root.get("width")), int(root.get("height"))
    png = tmp_path / "chart.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={png}", svg.as_uri()],
        capture_output=True, timeout=180, check=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (width, height)
    assert len(data) > 20_000  # lanes, arrows and text drawn, not a blank page
