"""The installed package is the whole gateway (issue 9, item 9): a built wheel holds every app, with every
template, static file and translation, so a deployment from the wheel serves the portal and the console."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "audit", "consent", "gateway", "portal", "console", "demo", "policy")
NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".git", "data", "build", "*.egg-info")


def test_the_wheel_holds_every_file_of_every_app(tmp_path: Path) -> None:
    """Built offline from a copy of the sources (no build folder left in the work tree); every file under an
    app's folder, Python or not, must be in the wheel."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *APPS):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=NOT_SHIPPED)
        else:
            shutil.copy2(path, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", "dist", "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (source / "dist").glob("veilig_delen-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())

    expected = {
        path.relative_to(source).as_posix()
        for app in APPS
        for path in (source / app).rglob("*")
        if path.is_file() and not path.relative_to(source).as_posix().endswith(".pyc")
    }
    assert {
        "portal/templates/portal/base.html",
        "console/templates/console/base.html",
        "policy/catalogue.yaml",
        "policy/catalogue.schema.json",
    } <= expected
    assert any(name.endswith(".mo") for name in expected)
    missing = sorted(expected - shipped)
    assert not missing, missing
