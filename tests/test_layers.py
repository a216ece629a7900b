"""The layers of docs/architecture.md, guarded: ``audit`` imports no other app, ``consent`` only ``audit``, the
partner edge (``gateway``) only those two, the portal and the console only the layers below and not each other,
and nothing imports the demo world. The contracts are in pyproject.toml (import-linter)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_layer_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("app", "imports", "broken"),
    [
        ("audit", "consent.models", "Each app imports only the apps below it"),
        ("consent", "gateway.models", "Each app imports only the apps below it"),
        ("gateway", "portal.notifications", "Each app imports only the apps below it"),
        ("portal", "console.access", "Each app imports only the apps below it"),
        ("console", "demo.world", "Nothing imports the demo world"),
    ],
)
def test_a_new_upward_import_breaks_a_contract(app: str, imports: str, broken: str) -> None:
    """The guard itself: a module that imports upwards (written for the test, removed after) is caught."""
    probe = ROOT / app / f"_layer_probe_{uuid.uuid4().hex[:8]}.py"
    probe.write_text(f"import {imports}  # noqa: F401\n")
    try:
        result = lint_imports()
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert f"{broken} BROKEN" in result.stdout
    assert f"{app}.{probe.stem} -> {imports}" in result.stdout
