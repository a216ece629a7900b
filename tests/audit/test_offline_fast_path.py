"""The offline verifier's fast path for entry lines (``leaf_hashes`` and ``_unescape_quotes`` in
``audit/offline_verify.py``) against its exact path (``Verification.entry``: the line read as JSON, the leaf read by
``members``, which is the check the verifier always made). Whatever the fast path accepts, the exact path accepts with
the same leaf hash; the lines ``audit_export`` writes for leaves without escapes (the trail's) are accepted; and a
whole ``entries.jsonl`` gives the same verdict, the same message and the same root whatever the path, the block size
or the number of worker processes."""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import offline_verify
from audit.offline_verify import (
    ExportInvalid,
    Verification,
    _claimed_hashes,
    _line_hashes,
    _piece_hashes,
    _unescape_quotes,
    leaf_hashes,
)
from tests.audit.test_canonical import EDGY_TEXT

# escape_decode warns about escapes Python does not have; leaf_hashes silences it, the direct calls here do not.
pytestmark = pytest.mark.filterwarnings("ignore:invalid:DeprecationWarning")

TEXT = st.none() | st.text(max_size=6) | EDGY_TEXT | st.sampled_from([',"index":', ',"index":0', '\\",\\"index\\":1'])
SMALL = st.none() | st.booleans() | st.integers(-3, 3) | TEXT
KEYS = st.text(max_size=4) | st.just("index")
NESTED = st.recursive(
    SMALL, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6
)


def line_of(index: int, leaf: str, leaf_hash: str | None = None) -> bytes:
    """An entries.jsonl line exactly as audit_export writes it."""
    if leaf_hash is None:
        leaf_hash = hashlib.sha256(b"\x00" + leaf.encode("utf-8", "surrogatepass")).hexdigest()
    item = {"index": index, "leaf": leaf, "leaf_hash": leaf_hash}
    return (json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "surrogatepass")


def exact(raw: bytes, index: int) -> bytes | str:
    """The exact path's verdict on one line read as entry ``index``: the leaf hash it adds, or its failure."""
    verification = Verification(Path("."), None, set())  # type: ignore[arg-type]  # no checkpoint is checked
    verification.size = index
    try:
        verification.entry(raw)
    except ExportInvalid as failure:
        return str(failure)
    return verification.tree.pieces[-1]


@st.composite
def leaf_objects(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """Leaf objects shaped like audit.ledger.leaf_object, with "index" sometimes wrong, of another type, nested
    deeper or missing, and text that looks like JSON structure."""
    leaf: dict[str, Any] = {
        "v": 1,
        "kind": draw(TEXT),
        "at": "2026-12-01T16:09:29.687Z",
        "actor": {"organisation": draw(TEXT), "client_id": draw(TEXT), "acting_user": None, "user": draw(TEXT)},
        "subject": draw(TEXT),
        "purpose": draw(TEXT),
        "case_reference": draw(TEXT),
        "emergency": draw(st.booleans()),
        "reference": draw(TEXT),
        "outcome": draw(TEXT),
        "policy_version": draw(st.none() | st.integers(0, 3)),
        "decisions": draw(st.lists(NESTED, max_size=2)),
        "detail": draw(st.dictionaries(st.text(max_size=5) | st.just("index"), NESTED, max_size=3)),
        "index": draw(st.sampled_from([*[index] * 6, index + 1, -1, True, False, float(index), str(index), None])),
    }
    if draw(st.integers(0, 9)) == 0:
        leaf["index"] = {"index": index}
    elif draw(st.integers(0, 9)) == 0:
        del leaf["index"]
    return leaf


def leaf_texts(index: int) -> st.SearchStrategy[str]:
    """Leaf texts: canonical (RFC 8785, as the ledger writes them) mostly, else another JSON spelling, or text edited
    into duplicate members, whitespace or invalid JSON."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        value = draw(leaf_objects(index))
        form = draw(st.sampled_from(["canonical"] * 4 + ["spaced", "ascii", "unsorted", "list"]))
        if form == "canonical":
            text = rfc8785.dumps(value).decode("utf-8")
        elif form == "spaced":
            text = json.dumps(value, sort_keys=True, indent=draw(st.sampled_from([None, 1, "\t"])))
        elif form == "ascii":
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        elif form == "unsorted":
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            text = json.dumps([value], separators=(",", ":"))
        edit = draw(st.sampled_from(["none"] * 6 + ["duplicate", "nested", "cut", "insert", "drop", "pad"]))
        if edit == "duplicate" and text.endswith("}"):
            text = text[:-1] + ',"index":' + json.dumps(draw(st.sampled_from([index, index + 1, True]))) + "}"
        elif edit == "nested" and text.endswith("}"):
            text = text[:-1] + ',"zz":{"index":' + str(index) + "}}"
        elif edit == "cut" and text:
            text = text[: draw(st.integers(0, len(text) - 1))]
        elif edit == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from([*'{}[],:"\\ \t\n0x', "true", "NaN", "1e999", "-0"])) + text[at:]
        elif edit == "drop" and text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + text[at + 1 :]
        elif edit == "pad":
            text = draw(st.sampled_from([" ", "\n", "\t", "\r"])) + text + draw(st.sampled_from(["", " ", "\n"]))
        return text

    return build()


RAW_EDITS = [b"\\", b'"', b"'", b"\\'", b"\\x41", b"\\x22", b"\\101", b"\\42", b"\\0", b"\\n", b"\\t", b"\\r", b"\\/",
             b"\\u0041", b"\\\\", b"\\q", b"\t", b"\r", b"\x01", b"\xff", b"\xc3", b" "]  # fmt: skip


@st.composite
def lines(draw: st.DrawFn, index: int) -> bytes:
    """Entry lines: mostly as audit_export writes them, else spelled otherwise as JSON (which only the exact path
    reads), with a wrong hash, or with bytes edited in (escapes JSON does not know or reads differently, a quote that
    ends the leaf early, control characters, broken UTF-8)."""
    text = draw(leaf_texts(index))
    form = draw(st.sampled_from(["export"] * 6 + ["hash", "json", "bytes"]))
    if form == "hash":
        stated = draw(st.sampled_from(["0" * 64, "A" * 64, "", hashlib.sha256(text.encode()).hexdigest()]))
        return line_of(index, text, stated)
    raw = line_of(index, text)
    if form == "json":
        item = json.loads(raw)
        if draw(st.booleans()):
            item["extra"] = 1
        separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
        spelled = json.dumps(item, ensure_ascii=draw(st.booleans()), separators=separators)
        spelled = spelled.replace("/", "\\/") if draw(st.booleans()) else spelled
        return (spelled + draw(st.sampled_from(["\n", "\r\n", " \n"]))).encode("utf-8", "surrogatepass")
    if form == "bytes":
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.sampled_from(RAW_EDITS)) + raw[at:]
    return raw


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 12).flatmap(lambda index: st.tuples(st.just(index), lines(index))))
def test_what_the_fast_path_accepts_the_exact_path_accepts_with_the_same_hash(case: tuple[int, bytes]) -> None:
    """Both ways of the fast path (a piece unescaped at once, or line by line) agree, and with the exact path."""
    index, raw = case
    fast = leaf_hashes(raw, index)
    assert len(fast) == 1
    if fast[0] is not None:
        assert exact(raw, index) == fast[0]
    line_by_line: list[bytes | None] = []
    _line_hashes(raw, index, line_by_line)
    assert line_by_line == fast
    pieces: list[bytes | None] = []
    if _piece_hashes(raw, 0, len(raw), index, pieces) == len(raw):
        assert pieces == fast
    else:
        assert pieces == []


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10**12).flatmap(lambda index: st.tuples(st.just(index), leaf_objects(index))))
def test_the_export_s_lines_for_leaves_without_escapes_take_the_fast_path(case: tuple[int, dict[str, Any]]) -> None:
    """Leaves whose strings need no escape (no quote, backslash or control character; the trail's own leaves) take
    the fast path; the others take the exact path, which reads them as before."""
    index, value = case
    value["index"] = index
    leaf = rfc8785.dumps(value).decode("utf-8")
    raw = line_of(index, leaf)
    fast = exact(raw, index) if "\\" not in leaf else None
    assert leaf_hashes(raw, index) == [fast]
    assert leaf_hashes(raw + raw[:-1], index) == [fast, None]  # the next line must say index + 1


@pytest.mark.parametrize(
    ("leaf", "verdict"),
    [
        ('{"index":3}', "fast"),
        ('{"a":{"index":3},"index":3}', "fast"),
        ('{"index":3,"a":{"index":4}}', "fast"),
        ('{"a":{"index":3}}', "entry 3: the leaf says index None"),
        ('{"a":{"b":[{"index":3}]},"index":"3"}', "entry 3: the leaf says index '3'"),
        ('{"index":4,"index":3}', "fast"),  # json keeps the last duplicate
        ('{"index":3,"index":4}', "entry 3: the leaf says index 4"),
        ('{"index":3,"s":",\\"index\\":4"}', "exact"),  # a quote in a string: the leaf has a backslash
        ('{"s":",\\"index\\":4}","index":3}', "exact"),
        ('{"s":",\\"index\\":4}","index":4}', "entry 3: the leaf says index 4"),
        ('{"index":3,"s":"\\u0022,\\"index\\":4"}', "exact"),
        ('{"index":true}', "entry 3: the leaf says index True"),
        ('{"index":3.0}', "entry 3: the leaf says index 3.0"),
        ('{"index":{"index":3}}', "entry 3: the leaf says index None"),
        ('[{"index":3}]', "entry 3: the leaf says index None"),
        ('{"x":tru,"index":3}', "entry 3: the leaf is not JSON"),
        ('{"x":[1,],"index":3}', "entry 3: the leaf is not JSON"),
        ('{"x":"\t","index":3}', "entry 3: the leaf is not JSON"),
        ('{"index":3,\t"a":1}', "exact"),
        (' {"index":3}', "exact"),
        ('{"index":3} ', "exact"),
        ('{"index":3}\n', "exact"),
        ('{"index":3}{"index":3}', "entry 3: the leaf is not JSON"),
        ('{"index" : 3}', "fast"),
        ('{"\\u0069ndex":3}', "exact"),
        ('{"index":3,"n":NaN}', "fast"),
        ('{"index":3,"n":1' + "0" * 5000 + "}", "entry 3: the leaf is not JSON"),
        ('{"index":03}', "entry 3: the leaf is not JSON"),
    ],
)
def test_leaves_the_checks_read_alike(leaf: str, verdict: str) -> None:
    """Leaves that look alike to a text search: the verdict is JSON's (duplicates: the last wins; nested "index"
    members do not count), and the fast path takes only what it can read exactly."""
    raw = line_of(3, leaf)
    fast = leaf_hashes(raw, 3)[0]
    outcome = exact(raw, 3)
    if verdict == "fast":
        assert fast is not None and outcome == fast
    elif verdict == "exact":
        assert fast is None and isinstance(outcome, bytes)
    else:
        assert fast is None and outcome == verdict


def body_line(body: bytes, leaf_hash: bytes = b"0" * 64) -> bytes:
    return b'{"index":0,"leaf":"' + body + b'","leaf_hash":"' + leaf_hash + b'"}\n'


@pytest.mark.parametrize(
    "body",
    [
        b'{\\"index\\":0,\\"a\\":"1"}',  # a quote that ends the leaf string early
        b'{\\"index\\":0}\\',  # the leaf string's closing quote escaped
        b'{\\"index\\":0,\\"a\\":\\"\\x41\\"}',  # Python escapes that JSON does not have
        b'{\\"index\\":0,\\"a\\":\\"\\\'\\"}',
        b'{\\"index\\":0,\\"a\\":\\"\\101\\"}',
        b'{\\"index\\":0,\\"a\\":\\"\\42\\"}',
        b'{\\"index\\":0,\\n\\"a\\":1}',  # JSON escapes, read alike, but only the exact path takes them
        b'{\\"index\\":0,\\"a\\":\\"\\\\\\"}',
        b'{\\"index\\":0,\\"a\\":\\"\\/\\"}',
        b'{\\"index\\":0,\\"a\\":\\"\\u0041\\"}',
        b'{\\"index\\":0,\\"a\\":\\"\t\\"}',  # raw control characters: not JSON in a string
        b'{\\"index\\":0,\t\\"a\\":1}',
        b'{\\"index\\":0,\\"a\\":\\"\x01\\"}',
        # an escape that is not \" and a quote that ends the string, counts balancing, the rest valid JSON:
        b'{\\"index\\":0,\\n"a\\":1}',
        b'{\\"index\\":0,\\t"a\\":1}',
        b'{\\"index\\":0,\\r"a\\":1}',
        b'{\\"index\\":0,\\"a\\":\\"\\\'"}',
    ],
)
def test_a_leaf_string_with_other_escapes_or_stray_quotes_takes_the_exact_path(body: bytes) -> None:
    """Each is refused even with the hash of what the unescaping makes of it, so that only the escapes refuse it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            decoded = codecs.escape_decode(body)[0]  # type: ignore[attr-defined]
        except ValueError:
            decoded = body
    stated = hashlib.sha256(b"\x00" + decoded).hexdigest().encode()
    for leaf_hash in (b"0" * 64, stated):
        raw = body_line(body, leaf_hash)
        assert leaf_hashes(raw, 0) == [None]


UNESCAPE_PIECES = [b"\\", b'"', b"'", b"a", b"n", b"t", b"x", b"4", b"2", b"0", b"u", b"/", b"\t", b"\n", b"\xc3\xa9"]
UNESCAPE_BYTES = st.binary(max_size=12) | st.lists(st.sampled_from(UNESCAPE_PIECES), max_size=12).map(b"".join)


@settings(max_examples=1500, deadline=None)
@given(UNESCAPE_BYTES, st.booleans())
def test_unescape_quotes_is_json_where_it_answers(body: bytes, without_escape_decode: bool) -> None:
    """Whatever _unescape_quotes returns is the JSON reading of the string, whose only escape is \\"."""
    if without_escape_decode:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(offline_verify, "_escape_decode", None)
            leaf = _unescape_quotes(body)
    else:
        leaf = _unescape_quotes(body)
    if leaf is None:
        return
    assert not {b"\\", b"\t", b"\n", b"\r"} & {bytes([c]) for c in leaf}
    if any(c < 0x20 for c in leaf):  # a control character: the JSON reading of the leaf refuses it
        return
    assert body == leaf.replace(b'"', b'\\"')
    try:
        text = leaf.decode("utf-8")
    except UnicodeDecodeError:  # leaf_hashes refuses it
        return
    assert json.loads(b'"' + body + b'"') == text


@pytest.mark.parametrize("body", [b"", b"abc", b'\\"', b'a\\"b\\"', 'é\\"€'.encode()])
def test_unescape_quotes_reads_the_export_s_escapes(body: bytes) -> None:
    expected = json.loads(b'"' + body + b'"').encode()
    assert _unescape_quotes(body) == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(offline_verify, "_escape_decode", None)
        assert _unescape_quotes(body) == expected


class NoSignatures:
    """Stands for offline_verify.Gpg: no signature verifies (these tests are about what happens before)."""

    def __init__(self, home: Path) -> None:
        self.home, self.binary, self.env = str(home), "false", {"PATH": os.environ["PATH"]}


def run_entries(directory: Path, verify: Callable[[Verification], None], **options: Any) -> tuple[str, bytes, int]:
    home = directory / "gnupg"
    home.mkdir(exist_ok=True)
    verification = Verification(directory, NoSignatures(home), set(), **options)  # type: ignore[arg-type]
    try:
        verify(verification)
    except ExportInvalid as failure:
        return str(failure), verification.tree.root(), verification.size
    return "OK", verification.tree.root(), verification.size


def exact_run(verification: Verification) -> None:
    """The verifier's loop before the fast path: every line through the exact check, in file order."""
    with (verification.directory / "entries.jsonl").open("rb") as entries:
        for raw in entries:
            verification.entry(raw)


@st.composite
def exports(draw: st.DrawFn) -> list[bytes]:
    count = draw(st.integers(1, 8))
    result = [line_of(index, rfc8785.dumps({"index": index, "v": 1}).decode()) for index in range(count)]
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, count - 1))
        result[at] = draw(lines(at))
    if draw(st.booleans()):
        result[-1] = result[-1].rstrip(b"\n")
    if draw(st.integers(0, 5)) == 0:
        del result[draw(st.integers(0, count - 1))]
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exports(), st.sampled_from([1, 40, 200, 1 << 20]))
def test_a_whole_file_reads_the_same_on_either_path(tmp_path: Path, content: list[bytes], block_size: int) -> None:
    (tmp_path / "entries.jsonl").write_bytes(b"".join(content))
    (tmp_path / "checkpoints.jsonl").write_bytes(b"")
    expected = run_entries(tmp_path, exact_run)
    assert run_entries(tmp_path, Verification.run, block_size=block_size) == expected
    with pytest.MonkeyPatch.context() as patch:  # line by line, unescaping with bytes.replace
        patch.setattr(offline_verify, "_escape_decode", None)
        assert run_entries(tmp_path, Verification.run, block_size=block_size) == expected


def test_worker_processes_read_the_same_as_one_process(tmp_path: Path) -> None:
    """Blocks checked in two worker processes: lines only the exact path reads (some of them first in their block, so
    that the worker numbers the block from a later line), then a failure further on."""
    content = [line_of(index, rfc8785.dumps({"index": index, "x": "é"}).decode()) for index in range(300)]
    for index in range(0, 300, 7):
        content[index] = (json.dumps(json.loads(content[index])) + "\n").encode()  # spaces: not the export's form
    (tmp_path / "checkpoints.jsonl").write_bytes(b"")
    (tmp_path / "entries.jsonl").write_bytes(b"".join(content))
    intact = run_entries(tmp_path, Verification.run, jobs=2, block_size=2000)
    assert intact == run_entries(tmp_path, exact_run) and intact[0] == "OK" and intact[2] == 300
    content[250] = line_of(250, '{"index":249}')
    (tmp_path / "entries.jsonl").write_bytes(b"".join(content))
    failed = run_entries(tmp_path, Verification.run, jobs=2, block_size=2000)
    assert failed == run_entries(tmp_path, exact_run) and failed[0] == "entry 250: the leaf says index 249"
    del content[100]
    (tmp_path / "entries.jsonl").write_bytes(b"".join(content))
    gap = run_entries(tmp_path, Verification.run, jobs=2, block_size=2000)
    assert gap == run_entries(tmp_path, exact_run) and gap[0] == "index gap: expected 100, found 101"


def test_a_worker_numbers_its_block_from_the_first_line_in_the_export_s_form() -> None:
    lines = [line_of(index, rfc8785.dumps({"index": index}).decode()) for index in range(5, 9)]
    hashes = leaf_hashes(b"".join(lines), 5)
    assert _claimed_hashes(b"".join(lines)) == (5, hashes)
    spaced = (json.dumps(json.loads(lines[0])) + "\n").encode()
    assert _claimed_hashes(spaced + b"".join(lines[1:])) == (5, [None, *hashes[1:]])
    assert _claimed_hashes(b"{}\n" * 3 + lines[3]) == (5, [None, None, None, hashes[3]])  # line 8, fourth
    assert _claimed_hashes(b"{}\n{}") == (-1, [None, None])
    assert _claimed_hashes(line_of(7, "{}").replace(b":7,", b":07,")) == (-1, [None])


CHECKPOINT = {"origin": "o", "tree_size": 5, "root_hash": "00", "body": "b", "signature": "s", "key_fingerprint": "F"}


@pytest.mark.parametrize(
    ("checkpoints", "expected"),
    [
        ([CHECKPOINT, "not json"], "entry 2: the leaf says index 3"),
        ([{**CHECKPOINT, "tree_size": 2}, "not json"], "checkpoint at 2: root differs from the entries"),
        (["not json"], "checkpoints.jsonl line 1: not JSON (Expecting value: line 1 column 1 (char 0))"),
        ([CHECKPOINT, CHECKPOINT, {"tree_size": 1}], "entry 2: the leaf says index 3"),
    ],
)
def test_checkpoints_fail_where_they_are_reached(tmp_path: Path, checkpoints: list[Any], expected: str) -> None:
    """gpg checks a checkpoint's signature while the entries before it are read; the checkpoints are still read in
    turn, so a line that cannot be read fails in its place."""
    content = [line_of(index, rfc8785.dumps({"index": index}).decode()) for index in range(4)]
    content[2] = line_of(2, '{"index":3}')
    (tmp_path / "entries.jsonl").write_bytes(b"".join(content))
    text = [json.dumps(item) if isinstance(item, dict) else item for item in checkpoints]
    (tmp_path / "checkpoints.jsonl").write_text("".join(line + "\n" for line in text))
    for jobs in (1, 2):
        assert run_entries(tmp_path, Verification.run, jobs=jobs)[0] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=30).map(lambda line: line.replace(b"\n", b"")), max_size=12), st.booleans(),
       st.integers(1, 40))  # fmt: skip
def test_worker_blocks_are_the_blocks_read_in_one_process(lines: list[bytes], newline_at_end: bool, size: int) -> None:
    """The spans this process hands to workers (found by reading only near their ends) are the blocks it would read."""
    content = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
    blocks = list(offline_verify._blocks(io.BytesIO(content), size))
    assert b"".join(blocks) == content and all(block.endswith(b"\n") for block in blocks[:-1])
    offsets = [sum(len(block) for block in blocks[:number]) for number in range(len(blocks))]
    assert list(offline_verify._spans(io.BytesIO(content), size)) == [
        (offset, len(block)) for offset, block in zip(offsets, blocks, strict=True)
    ]
