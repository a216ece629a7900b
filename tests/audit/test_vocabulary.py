"""One vocabulary (issue 10, item 5): an audit kind is named by its :class:`audit.choices.AuditKind` member at every
call site, never by a string, so that a typo is a name error instead of an entry of an unknown kind.

An AST sweep over the apps that write or read entries outside the partner edge (``gateway/`` has its own sweep
when it follows): no call passes ``kind="<an audit kind>"`` and no comparison or assignment puts a bare audit-kind
string where a kind goes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from audit.choices import AuditKind

ROOT = Path(__file__).resolve().parents[2]
APPS = ("audit", "consent", "gateway", "portal", "console", "demo")


def sources() -> list[Path]:
    return sorted(p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def kind_literals(tree: ast.AST) -> list[int]:
    """Lines where an audit kind is a string: ``kind="..."`` in a call, ``x.kind == "..."``, ``d["kind"] = "..."``."""
    kinds = set(AuditKind.values)

    def literal(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and node.value in kinds

    def names_kind(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "kind") or (
            isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "kind"
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [node.lineno for k in node.keywords if k.arg in ("kind", "kind__in") and literal(k.value)]
        elif isinstance(node, ast.Compare) and (names_kind(node.left) or any(map(names_kind, node.comparators))):
            found += [node.lineno for side in (node.left, *node.comparators) if literal(side)]
        elif isinstance(node, ast.Assign) and any(map(names_kind, node.targets)) and literal(node.value):
            found.append(node.lineno)
    return found


def test_the_sweep_finds_a_string_kind() -> None:
    tree = ast.parse('EntryDraft(kind="consent")\nif entry.kind == "request": pass\nquery["kind"] = "token"\n')
    assert sorted(kind_literals(tree)) == [1, 2, 3]
    assert kind_literals(ast.parse("EntryDraft(kind=AuditKind.CONSENT)\nSignal(kind='volume_spike')")) == []


def test_audit_kinds_are_named_by_their_member() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sources()
        for line in kind_literals(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], f"use an AuditKind member: {offenders}"
