"""The page's bundle: what the package ships is what frontend/ builds from the lockfile, and it
loads nothing from outside the machine."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "influx_connector" / "host" / "static"
BUILT = ("app.js", "app.css", "app.js.LEGAL.txt")

pytestmark = pytest.mark.slow


def test_the_shipped_bundle_is_a_fresh_build_of_frontend(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to build the page (frontend/build.mjs)"
    assert (ROOT / "frontend" / "node_modules" / "esbuild").is_dir(), "run: npm ci --prefix frontend"
    subprocess.run([node, str(ROOT / "frontend" / "build.mjs"), "--outdir", str(tmp_path)], check=True, timeout=300)
    for name in BUILT:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), \
            f"{name} differs from a fresh build: run node frontend/build.mjs and commit the result"


def test_the_page_loads_nothing_from_another_host() -> None:
    page = (STATIC / "index.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == ["/static/favicon.svg", "/static/app.css", "/static/app.js"]
    css = (STATIC / "app.css").read_text()
    assert not re.search(r"url\((?!data:)", css) and "@import" not in css

