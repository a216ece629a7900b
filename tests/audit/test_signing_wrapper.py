"""All OpenPGP work goes through the one wrapper, ``audit/signing.py`` (issue 10, item 3).

An AST sweep over the source tree (the apps, the project package, benchmarks and the tests): nothing but
``audit/signing.py`` imports python-gnupg, and in the apps nothing but the standalone offline verifier starts a
program (``benchmarks/`` runs git, not gpg). The verifier runs the stock ``gpg`` binary on purpose: a regulator
reviews it as two standard-library files, independent of the gateway's code (docs/audit.md, "Verification").
Tests may run the stock ``gpg`` binary: it is the independent check of what the wrapper produced.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("audit", "consent", "gateway", "portal", "console", "demo", "config", "benchmarks", "tests")
APPS = ("audit", "consent", "gateway", "portal", "console", "demo", "config")
WRAPPER = Path("audit/signing.py")
OFFLINE_VERIFIER = Path("audit/offline_verify.py")


def modules(folders: tuple[str, ...]) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of every module the file imports (anywhere in it, also inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_sweep_sees_the_wrapper() -> None:
    """The sweep would find an import of gnupg: the wrapper itself has one."""
    assert "gnupg" in imported(ROOT / WRAPPER)
    assert len(modules(SOURCE)) > 100


def test_only_the_wrapper_imports_gnupg() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules(SOURCE)
        if path.relative_to(ROOT) != WRAPPER and "gnupg" in imported(path)
    ]
    assert offenders == [], f"OpenPGP work belongs in audit/signing.py; these import gnupg: {offenders}"


def test_no_app_runs_gpg_past_the_wrapper() -> None:
    """Only the offline verifier starts programs in the apps (the wrapper does it through python-gnupg)."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules(APPS)
        if path.relative_to(ROOT) != OFFLINE_VERIFIER and imported(path) & {"subprocess", "pexpect", "sh"}
    ]
    assert offenders == [], f"these start programs outside audit/signing.py and the offline verifier: {offenders}"
