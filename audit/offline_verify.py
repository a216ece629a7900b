#!/usr/bin/env python3
"""Offline verifier for an audit trail export (``shared/spec/audit.md``, "Verification").

Standalone on purpose: the Python standard library, the ``gpg`` binary and the sibling file ``merkle.py``
(RFC 9162 Merkle tree, itself standard-library only). No Django, no third-party packages, no canonicalisation
library, so a regulator can read these two files and need not trust the rest of the gateway's code. That is
why this file drives the ``gpg`` binary itself instead of going through the gateway's OpenPGP wrapper
(``audit/signing.py``, which needs python-gnupg): an independent verifier, not a second copy of the signer.

Usage::

    python audit/offline_verify.py [--quiet] [--progress] [--expect-fingerprint FPR ...] [--jobs N] EXPORT_DIR

A progress bar (entries checked, rate, time left) goes to stderr when it is a terminal, or with ``--progress``.
``--jobs`` worker processes (default: one per CPU, at most 8) check the entry lines, a block of about a megabyte at a
time; this process keeps the tree and the checkpoints, and starts gpg on a checkpoint's signature when it reads the
checkpoint, so that gpg runs while the entries before it are checked. The verdict and the failure named do not depend
on the number of processes.

Checks, streaming ``entries.jsonl`` with O(log n) memory and stopping at the first failure:

1. entries: indices gapless from 0; ``leaf_hash`` (when present) equals SHA-256(0x00 || leaf bytes); the leaf is
   a JSON object whose ``"index"`` equals the line's index. Lines exactly as ``audit_export`` writes them are read
   by :func:`leaf_hashes`, any other through the general JSON reading (:meth:`Verification.entry`), with the same
   verdicts (``tests/audit/test_offline_fast_path.py``);
2. at each checkpoint's tree size (checkpoints in file order, sizes strictly increasing): the root recomputed
   from the leaves equals ``root_hash``; the body equals ``<origin>\\n<size>\\n<base64 root>\\n``; the signature
   verifies with gpg (a temporary GNUPGHOME holding only ``public-key.asc``) and its VALIDSIG fingerprint is
   ``key_fingerprint`` (and one of ``--expect-fingerprint`` when given); the consistency proof from the previous
   checkpoint verifies (RFC 9162 §2.1.4.2);
3. no checkpoint lies beyond the last entry.

Exit status: 0 and ``OK: N entries, M checkpoints verified``; 1 and ``FAILED: <first failure>`` on stderr; 2 when
the verifier cannot run (bad arguments, no gpg).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import codecs
import collections
import concurrent.futures
import hashlib
import importlib
import json
import json.scanner
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the project's package layout
    from audit import merkle
elif __package__:  # imported from the gateway's package (audit_verify reuses Progress): the sibling module
    merkle = importlib.import_module(f"{__package__}.merkle")
else:  # run as a script, or from a folder holding only this file and merkle.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import merkle

HEX_DIGITS = frozenset("0123456789abcdef")


class ExportInvalid(Exception):
    """The export does not verify; the message names the first failing entry or checkpoint."""


class VerifierUnavailable(Exception):
    """The verification cannot be run at all (gpg missing or broken)."""


class Progress:
    """A one-line progress bar for a terminal: entries checked, share done, rate and time left (standard library
    only, so that this file stays self-contained; ``manage.py audit_verify`` uses it too).

    :meth:`update` redraws at most every ``interval`` seconds; :meth:`close` draws the last state and ends the line.
    """

    WIDTH = 24

    def __init__(self, stream: IO[str], *, label: str = "entries", interval: float = 0.2) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.drawn = float("-inf")
        self.done = 0
        self.total: int | None = None
        self.fraction: float | None = None

    def update(self, done: int, total: int | None = None, fraction: float | None = None) -> None:
        """Record progress: ``done`` entries of ``total`` (or an estimated ``fraction`` done, when the total is not
        known in advance); redraw if the last drawing is old enough."""
        self.done, self.total = done, total
        self.fraction = fraction if fraction is not None else (done / total if total else None)
        now = time.monotonic()
        if now - self.drawn >= self.interval:
            self.drawn = now
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and move to the next line."""
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        share = min(max(self.fraction or 0.0, 0.0), 1.0)
        filled = round(share * self.WIDTH)
        counted = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None else "")
        left = ""
        if self.fraction and 0 < share < 1:
            left = f"  {_clock(elapsed * (1 - share) / share)} left"
        elif share >= 1:
            left = f"  {_clock(elapsed)} in all"
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:6.1%}  {counted} {self.label}  {rate:,.0f}/s{left}"
        )
        self.stream.write("\r" + line + "\x1b[K")  # ESC[K clears what a longer previous line left behind
        self.stream.flush()


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class Gpg:
    """gpg in a throw-away home that holds only the export's public keys (audit.md, "Checkpoints")."""

    def __init__(self, public_keys: Path) -> None:
        binary = shutil.which("gpg")
        if binary is None:
            raise VerifierUnavailable("the gpg binary is not on PATH")
        self.binary = binary
        self.home = tempfile.mkdtemp(prefix="vd-offline-")
        os.chmod(self.home, 0o700)
        self.env = {**os.environ, "GNUPGHOME": self.home, "LC_ALL": "C"}
        imported = self._run("--import", str(public_keys))
        if "[GNUPG:] IMPORT_OK" not in imported.stdout:
            raise ExportInvalid("public-key.asc: gpg imported no key from it")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run gpg in the throw-away home with machine-readable status lines on stdout."""
        return subprocess.run(  # noqa: S603 - a fixed binary and arguments, no shell
            [self.binary, "--batch", "--no-tty", "--status-fd", "1", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def signers(self, body: bytes, signature: str) -> set[str]:
        """The fingerprints (signing key and primary key) of a valid signature of ``body``; empty if invalid."""
        return SignatureCheck(self, body, signature).result()

    def close(self) -> None:
        """Stop any gpg daemon started for the home and remove it."""
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            subprocess.run(  # noqa: S603 - a fixed binary and arguments, no shell
                [gpgconf, "--kill", "all"], env=self.env, capture_output=True, check=False
            )
        shutil.rmtree(self.home, ignore_errors=True)


class SignatureCheck:
    """``gpg --verify`` of one signature, started at once and running in the background until :meth:`result` (the
    verifier starts the next checkpoint's check when it reads the checkpoint, and reads the entries meanwhile). A
    process, not a thread, so that worker processes can be forked at any time."""

    def __init__(self, gpg: Gpg, body: bytes, signature: str) -> None:
        self.found: set[str] | None = None
        self.failure: Exception | None = None
        self.work = tempfile.mkdtemp(dir=gpg.home)
        self.process: subprocess.Popen[str] | None = None
        body_path = Path(self.work) / "body"
        signature_path = Path(self.work) / "body.asc"
        try:
            body_path.write_bytes(body)
            signature_path.write_text(signature, encoding="utf-8")
            arguments = ["--batch", "--no-tty", "--status-fd", "1", "--verify", str(signature_path), str(body_path)]
            self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments, no shell
                [gpg.binary, *arguments],
                env=gpg.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except Exception as failure:  # raised by result(), where the signature is looked at
            self.failure = failure

    def result(self) -> set[str]:
        """Wait for gpg: the fingerprints (signing key and primary key) of a valid signature; empty if invalid."""
        if self.found is None:
            try:
                if self.failure is not None:
                    raise self.failure
                assert self.process is not None
                stdout, _ = self.process.communicate()
            finally:
                shutil.rmtree(self.work, ignore_errors=True)
            self.found = set()
            if self.process.returncode == 0:
                for line in stdout.splitlines():
                    fields = line.split()
                    if fields[:2] == ["[GNUPG:]", "VALIDSIG"] and len(fields) >= 3:
                        self.found.add(fields[2].upper())
                        if len(fields) >= 12:
                            self.found.add(fields[11].upper())
        return self.found

    def cancel(self) -> None:
        """Stop gpg if it still runs (the verification ended before this checkpoint) and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        shutil.rmtree(self.work, ignore_errors=True)


def _is_int(value: object) -> bool:
    """An integer that is not a bool (JSON true is not an index)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex_hash(value: object) -> bool:
    """A SHA-256 in lowercase hex, as audit.md writes hashes in JSON."""
    return isinstance(value, str) and len(value) == 2 * merkle.HASH_SIZE and set(value) <= HEX_DIGITS


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each line of a JSON Lines file; an unreadable line is a failure."""
    if not path.is_file():
        raise ExportInvalid(f"{path.name}: missing")
    with path.open("r", encoding="utf-8", newline="\n") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                raise ExportInvalid(f"{path.name} line {number}: not JSON ({exc})") from None


_OBJECTS: list[list[tuple[str, Any]]] = []
_MEMBERS_DECODER = json.JSONDecoder(object_pairs_hook=_OBJECTS.append)
_scan_once: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_MEMBERS_DECODER)  # type: ignore[arg-type]
JSON_WHITESPACE = " \t\n\r"


def members(text: str) -> dict[str, Any] | None:
    """The members of the JSON object ``text``, or None when ``text`` is JSON but not an object; ValueError when it
    is not JSON. The whole text is parsed (json's C scanner), but nested objects are not built: the decoder hands
    every object's members to ``_OBJECTS.append`` and gets None back, so they stand as None in their parent, and
    the top-level object, completed last, is the last list collected. A million leaves are checked in half the
    time of ``json.loads``; for the members read here (an index, strings) the result is the same."""
    _OBJECTS.clear()
    if text[:1] in JSON_WHITESPACE:  # leading whitespace (or nothing): the decoder's own way
        value = _MEMBERS_DECODER.decode(text)
    else:  # the scanner itself, without decode()'s two regular expressions per call
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:
            raise ValueError("Expecting value: line 1 column 1 (char 0)") from None
        if end != len(text) and text[end:].strip(JSON_WHITESPACE):
            raise ValueError(f"Extra data: char {end}")
    if value is not None or not _OBJECTS:  # a top-level object decodes to None and leaves its members last
        return None
    return dict(_OBJECTS[-1])


_LINE_START = '{"index":'
_LEAF_START = ',"leaf":"'
_HASH_START = ',"leaf_hash":"'


def _export_line(line: str) -> tuple[int, str, str] | None:
    """(index, leaf, leaf_hash) of a line exactly as ``audit_export`` writes it (``{"index":n,"leaf":"...",
    "leaf_hash":"<64 characters>"}``), read with json's C string scanner only; None for any other shape (more
    members, spaces, an escape in the hash, ...), which the caller then reads as JSON. Whatever it returns is what
    ``json.loads`` gives for the line."""
    if not line.startswith(_LINE_START):
        return None
    comma = line.find(_LEAF_START, 9)
    digits = line[9:comma]
    if comma < 0 or not (digits.isascii() and digits.isdigit()) or (digits[0] == "0" and digits != "0"):
        return None
    try:
        leaf, end = scanstring(line, comma + len(_LEAF_START))
    except ValueError:
        return None
    if line.find(_HASH_START, end, end + 14) != end or line[end + 78 : end + 80] != '"}':
        return None
    stated = line[end + 14 : end + 78]
    if "\\" in stated or '"' in stated or not stated.isprintable() or line[end + 80 :] not in ("", "\n"):
        return None
    return int(digits), leaf, stated


def _line_fields(line: str, number: int) -> tuple[int, str, str | None]:
    """(index, leaf, leaf_hash or None) of an entry line: :func:`_export_line`, or the line read as JSON."""
    fast = _export_line(line)
    if fast is not None:
        return fast
    try:
        item = members(line)
    except ValueError as exc:
        raise ExportInvalid(f"entries.jsonl line {number}: not JSON ({exc})") from None
    if item is None or not _is_int(item.get("index")) or not isinstance(item.get("leaf"), str):
        raise ExportInvalid(f"entries.jsonl line {number}: not an object with an integer index and a leaf string")
    leaf_hash = item.get("leaf_hash")
    if leaf_hash is not None and not isinstance(leaf_hash, str):  # its digits are checked with the hash
        raise ExportInvalid(f"entry {item['index']}: leaf_hash is not a lowercase hex SHA-256")
    return item["index"], item["leaf"], leaf_hash


def leaf_index_error(index: int, text: str) -> str | None:
    """Why the leaf of entry ``index`` is not a JSON object whose "index" member is ``index``; None when it is."""
    try:
        parsed = members(text)
    except ValueError:
        return f"entry {index}: the leaf is not JSON"
    found = parsed.get("index") if parsed is not None else None
    if found != index or not _is_int(found):
        return f"entry {index}: the leaf says index {found!r}"
    return None


_LINE_TAIL = 81
"""Characters after the leaf string of an export line: ``","leaf_hash":"``, 64 hex digits and ``"}``."""
_HASH_FIELD = b'","leaf_hash":"'
_PLAIN_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_escape_decode: Callable[[bytes], tuple[bytes, int]] | None = getattr(codecs, "escape_decode", None)


def _unescape_quotes(body: bytes) -> bytes | None:
    """``body`` (the characters of a JSON string, without its quotes) read as JSON, when its only escape is ``\\"``
    and it holds no raw control character that a JSON reading of the leaf could take for whitespace; None when that
    is not shown (the caller then reads the line the exact way).

    :func:`codecs.escape_decode` (the reader of Python escapes, in C) does the work; the counts prove it did what JSON
    does. With ``d`` characters fewer after it: no backslash is left, so every backslash began an escape that it
    consumed; there are ``d`` backslashes, so each escape is a backslash and one character that became one character
    (``\\"``, ``\\'``, or one that gives a control character: ``\\n``, ``\\0``, ...); the text has ``d``
    quotes, so every quote belongs to an escape and none ends the string early. ``\\'`` is excluded by name, and a
    control character in the result by the tests here (tab, newline, carriage return) or by the JSON reading of the
    leaf that follows (any other control character is invalid JSON). What remains is ``\\"`` alone. Without
    escape_decode (it is not documented), :meth:`bytes.replace` does the same more slowly."""
    if _escape_decode is not None:
        try:
            leaf = _escape_decode(body)[0]
        except ValueError:  # a lone backslash at the end, or a malformed \x escape
            return None
    else:
        leaf = body.replace(b'\\"', b'"')
    escapes = len(body) - len(leaf)
    if body.count(b"\\") != escapes or body.count(b'"') != escapes:
        return None
    # Bytes searched as integers: `b"x" in leaf` first tries b"x" as an integer and formats an error message.
    if 0x5C in leaf or 0x09 in leaf or 0x0A in leaf or 0x0D in leaf or (0x27 in leaf and body.find(b"\\'") >= 0):
        return None
    return leaf


_PIECE = 1 << 16
"""Bytes of a block checked together: small enough to stay in the processor's cache through every pass over them."""


def leaf_hashes(block: bytes, first: int) -> list[bytes | None]:
    """The leaf hash of each line of ``block`` (whole lines of ``entries.jsonl``, the first being entry ``first``;
    the last line may lack its newline at the end of the file) when the line is in the exact form ``audit_export``
    writes and passes every entry check of :meth:`Verification.run`; None for any other line, which the caller then
    checks the exact way (:meth:`Verification.entry`), so that the verdict and the message are the same.

    The form: ``{"index":<first + k>,"leaf":"<body>","leaf_hash":"<64 lowercase hex>"}``, where ``body`` is a JSON
    string whose only escape is ``\\"`` (:func:`_unescape_quotes`). Such a line is what :func:`_export_line` reads,
    with the same index, leaf and hash. The leaf is then checked as :func:`leaf_index_error` checks it, with the same
    C scanner of the json module but building plain dicts (faster than collecting members): the text must be one JSON
    value from its first character to its last, a dict, whose "index" (the last one, as json keeps it) is an int equal
    to the line's index. Leading or trailing whitespace, which the exact check allows, goes to the exact path.
    Finally ``leaf_hash`` must be SHA-256(0x00 || leaf) in lowercase hex.

    The block is read in pieces of about :data:`_PIECE` bytes, each by :func:`_piece_hashes` as far as it gets, the
    rest of the piece line by line (:func:`_line_hashes`)."""
    hashes: list[bytes | None] = []
    start = 0
    with warnings.catch_warnings():  # escape_decode warns about escapes Python does not know (\u, \/)
        warnings.simplefilter("ignore", DeprecationWarning)
        while start < len(block):
            stop = block.find(b"\n", start + _PIECE) + 1 or len(block)
            if _escape_decode is not None:
                start = _piece_hashes(block, start, stop, first + len(hashes), hashes)
            if start < stop:
                _line_hashes(block[start:stop], first + len(hashes), hashes)
            start = stop
    return hashes


def _piece_hashes(block: bytes, start: int, stop: int, first: int, hashes: list[bytes | None]) -> int:
    """The checks of :func:`leaf_hashes` on the lines of ``block[start:stop]``, unescaped together: escape_decode of
    the whole piece (``decoded``), the leaves parsed in place in its text, so that no line is copied. Appends the hash
    of each line that passes and returns where the first one that does not starts (``stop`` if all do).

    Line by line, with ``line`` starting at ``position`` in ``block`` and at ``at`` in ``decoded``: both start with
    the line's prefix; the leaf is the JSON object the scanner reads from the prefix's end to ``end``; the first
    newline after it in ``decoded`` is the tail's (``","leaf_hash":"<hex>"}`` and a newline, 82 bytes), which both
    end with. As the line's prefix and tail hold no backslash and the body does not end with one, no escape crosses
    them, so the body's escapes gave exactly ``decoded[start of leaf:end]``: ``escapes`` characters fewer, as many
    as the body has backslashes and quotes, which is the argument of :func:`_unescape_quotes` (backslash, tab and
    carriage return are excluded for the whole piece, the newline by where it lies, \\' when there is a quote). The
    next line then starts right after the tail in both."""
    try:
        decoded = _escape_decode(memoryview(block)[start:stop])[0]  # type: ignore[misc]  # checked by the caller
    except ValueError:
        return start
    if not decoded.isascii() or 0x5C in decoded or 0x09 in decoded or 0x0D in decoded:
        return start  # (not ASCII: a character would not be one byte, and positions would differ)
    if 0x27 in decoded and block.find(b"\\'", start, stop) >= 0:
        return start
    text = decoded.decode("ascii")
    view = memoryview(decoded)
    zero = hashlib.sha256(merkle.LEAF_PREFIX)
    scan, hexlify, hash_field = _PLAIN_SCAN, binascii.hexlify, _HASH_FIELD
    index, position, at = first, start, 0
    while position < stop:
        prefix = b'{"index":%d,"leaf":"' % index
        following = block.find(b"\n", position, stop) + 1
        if not (following and block.startswith(prefix, position) and decoded.startswith(prefix, at)):
            break
        leaf_start = at + len(prefix)
        try:
            value, end = scan(text, leaf_start)
        except (ValueError, StopIteration, RecursionError):
            break
        if type(value) is not dict or decoded.find(b"\n", leaf_start) != end + _LINE_TAIL:
            break
        found = value.get("index")
        body_start, body_end = position + len(prefix), following - _LINE_TAIL - 1
        escapes = (following - position) - (end + _LINE_TAIL + 1 - at)
        if (
            type(found) is not int
            or found != index
            or body_end < body_start
            or block.count(b"\\", body_start, body_end) != escapes
            or block.count(b'"', body_start, body_end) != escapes
            or block[body_end - 1] == 0x5C
        ):
            break
        digest = zero.copy()
        digest.update(view[leaf_start:end])
        leaf_hash = digest.digest()
        tail = hash_field + hexlify(leaf_hash) + b'"}\n'
        if not (decoded.startswith(tail, end) and block.startswith(tail, body_end)):
            break
        hashes.append(leaf_hash)
        index += 1
        position, at = following, end + len(tail)
    return position


def _line_hashes(piece: bytes, first: int, hashes: list[bytes | None]) -> None:
    """The checks of :func:`leaf_hashes` on each line of ``piece`` on its own; appends a hash or None per line."""
    lines = piece.split(b"\n")
    if piece.endswith(b"\n"):
        lines.pop()
    sha256, hexlify, scan, unescape = hashlib.sha256, binascii.hexlify, _PLAIN_SCAN, _unescape_quotes
    hash_field, tail, leaf_prefix = _HASH_FIELD, _LINE_TAIL, merkle.LEAF_PREFIX  # locals: read for every line
    index = first - 1
    for line in lines:
        index += 1
        hashes.append(None)
        start = b'{"index":%d,"leaf":"' % index
        if not (line.startswith(start) and line.startswith(hash_field, -tail) and line.endswith(b'"}')):
            continue
        leaf = unescape(line[len(start) : -tail])
        if leaf is None:
            continue
        try:
            text = leaf.decode("utf-8")
            value, end = scan(text, 0)
        except (ValueError, StopIteration, RecursionError):  # the exact path gives the verdict (or the error)
            continue
        if end != len(text) or type(value) is not dict:
            continue
        found = value.get("index")
        if type(found) is not int or found != index:
            continue
        digest = sha256(leaf_prefix + leaf).digest()
        if hexlify(digest) == line[-66:-2]:
            hashes[-1] = digest


CHECKPOINT_FIELDS = {
    "origin": str,
    "tree_size": int,
    "root_hash": str,
    "body": str,
    "signature": str,
    "key_fingerprint": str,
}


def _claimed_hashes(block: bytes) -> tuple[int, list[bytes | None]]:
    """:func:`leaf_hashes` for a worker process that does not know which entry ``block`` starts with: numbered from
    the index that the first line in the export's form states, less its position in the block (-1 if none of the
    first lines is in that form: the caller then reads the whole block the exact way)."""
    start = 0
    for position in range(64):
        end = block.find(b"\n", start)
        line = block[start:end] if end >= 0 else block[start:]
        comma = line.find(b',"leaf":"', 9, 40)
        digits = line[9:comma]
        if line.startswith(b'{"index":') and comma > 9 and digits.isdigit() and (digits[:1] != b"0" or digits == b"0"):
            first = int(digits) - position
            return first, leaf_hashes(block, first)
        if end < 0:
            break
        start = end + 1
    return -1, [None] * (block.count(b"\n") + (not block.endswith(b"\n")))


def _checkpoints(path: Path) -> Iterator[dict[str, Any]]:
    """The checkpoints of checkpoints.jsonl in file (signing) order, with their fields type-checked."""
    for number, item in _json_lines(path):
        if not isinstance(item, dict):
            raise ExportInvalid(f"checkpoints.jsonl line {number}: not an object")
        for name, kind in CHECKPOINT_FIELDS.items():
            if not isinstance(item.get(name), kind) or isinstance(item.get(name), bool):
                raise ExportInvalid(f"checkpoints.jsonl line {number}: {name} missing or not a {kind.__name__}")
        yield item


def expected_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint body: origin, size in decimal, base64 of the root, each line ending in LF."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def _blocks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    """Whole lines of ``stream``, about ``size`` bytes at a time; the last block may end without a newline."""
    while block := stream.read(size):
        if not block.endswith(b"\n"):
            block += stream.readline()  # the rest of the last line (a line longer than size makes a longer block)
        yield block


def _spans(stream: IO[bytes], size: int) -> Iterator[tuple[int, int]]:
    """The offset and length of each block :func:`_blocks` reads, found by reading only around the blocks' ends."""
    offset = 0
    while True:
        stream.seek(offset + size - 1)
        last = stream.read(1)
        if not last:  # the file ends within this block
            end = stream.seek(0, os.SEEK_END)
            if end > offset:
                yield offset, end - offset
            return
        end = offset + size
        if last != b"\n":
            end += len(stream.readline())
        yield offset, end - offset
        offset = end


def _read(path: Path, offset: int, block: bytes | int) -> bytes:
    """``block`` if it is the bytes, else that many bytes of the file at ``offset``."""
    if isinstance(block, bytes):
        return block
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(block)


def _claimed_hashes_in(path: str, offset: int, length: int) -> tuple[int, list[bytes | None]]:
    """:func:`_claimed_hashes` of the block at ``offset`` in the file: the work of a worker process."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        return _claimed_hashes(stream.read(length))


def _with_signature_checks(
    checkpoints: Iterator[dict[str, Any]], gpg: Gpg
) -> Iterator[tuple[dict[str, Any], SignatureCheck]]:
    """Each checkpoint, read when the verifier reads it (so that a line that cannot be read fails in the same place),
    with its signature check started at once."""
    for item in checkpoints:
        yield item, SignatureCheck(gpg, item["body"].encode("utf-8", "surrogatepass"), item["signature"])


class Verification:
    """One pass over an export; see the module docstring for the checks and their order."""

    def __init__(
        self,
        directory: Path,
        gpg: Gpg,
        expected_fingerprints: set[str],
        progress: Progress | None = None,
        *,
        jobs: int = 1,
        block_size: int = 1 << 20,
    ) -> None:
        self.directory = directory
        self.gpg = gpg
        self.expected = expected_fingerprints
        self.progress = progress
        self.jobs = jobs
        self.block_size = block_size
        self.tree = merkle.TreeBuilder()
        self.size = 0
        self.checkpoints = 0
        self.previous: tuple[int, bytes] | None = None
        self.signers: set[str] = set()

    def run(self) -> None:
        """Stream entries and checkpoints together; each checkpoint is checked when the leaves reach its size.

        For each entry line, in this order: the index is the next one (gapless from 0); ``leaf_hash``, when given,
        is SHA-256(0x00 || leaf bytes); the leaf is a JSON object whose "index" member is the line's index; then the
        leaf joins the tree. Lines are read in blocks; :func:`leaf_hashes` checks a block's lines in the exact form
        ``audit_export`` writes, and any other line goes through :meth:`entry`, which makes the same checks the general
        way, so the first failure and its message do not depend on the path (issue 12, item 4: a million lines).
        """
        path = self.directory / "entries.jsonl"
        pending: tuple[dict[str, Any], SignatureCheck] | None = None
        try:
            checkpoints = _with_signature_checks(_checkpoints(self.directory / "checkpoints.jsonl"), self.gpg)
            pending = next(checkpoints, None)
            if not path.is_file():
                raise ExportInvalid(f"{path.name}: missing")
            total_bytes = max(path.stat().st_size, 1)
            read = 0
            with path.open("rb") as entries:
                for offset, block, hashes in self._checked_blocks(entries, path):
                    raw_lines: list[bytes] | None = None  # split only when a line needs the exact path
                    position = 0
                    while position < len(hashes):
                        while pending is not None and pending[0]["tree_size"] <= self.size:
                            self.checkpoint(*pending)
                            pending = next(checkpoints, None)
                        limit = len(hashes)
                        if pending is not None:
                            limit = min(limit, position + pending[0]["tree_size"] - self.size)
                        try:
                            stop = hashes.index(None, position, limit)
                        except ValueError:
                            stop = limit
                        self.tree.extend(hashes[position:stop])  # type: ignore[arg-type]  # no None before stop
                        self.size += stop - position
                        position = stop
                        if position < limit:
                            if raw_lines is None:
                                raw_lines = _read(path, offset, block).split(b"\n")
                            raw = raw_lines[position]
                            self.entry(raw + b"\n" if position < len(raw_lines) - 1 else raw)
                            position += 1
                    if self.progress is not None:
                        read = offset + (block if isinstance(block, int) else len(block))
                        self.progress.update(self.size, fraction=read / total_bytes)
            if self.progress is not None:
                self.progress.update(self.size, self.size)
            while pending is not None and pending[0]["tree_size"] <= self.size:
                self.checkpoint(*pending)
                pending = next(checkpoints, None)
            if pending is not None:
                raise ExportInvalid(
                    f"checkpoint at {pending[0]['tree_size']}: beyond the end of the trail ({self.size} entries)"
                )
        finally:  # a checkpoint not reached, or that failed before its signature was looked at
            if pending is not None:
                pending[1].cancel()

    def _checked_blocks(self, entries: IO[bytes], path: Path) -> Iterator[tuple[int, bytes | int, list[bytes | None]]]:
        """Each block of ``entries`` (its offset, its bytes or its length) with what :func:`leaf_hashes` found in it,
        in file order. With ``jobs`` above 1 the blocks are checked by that many worker processes, a few blocks ahead
        of the caller (so memory stays bounded), each reading its block from the file itself (handing a megabyte to a
        process costs more than reading it); this process then reads only where blocks end, and a block's bytes when
        a line needs the exact path. A worker numbers a block's lines from the index its first line states
        (:func:`_claimed_hashes`); the hashes count only if that is the caller's size when the block's turn comes,
        which it is unless the lines before were not in order (then the exact path reads the block and names the
        failure)."""
        if self.jobs <= 1:
            offset = 0
            for block in _blocks(entries, self.block_size):
                yield offset, block, leaf_hashes(block, self.size)
                offset += len(block)
            return
        ahead: collections.deque[tuple[int, int, concurrent.futures.Future[tuple[int, list[bytes | None]]]]]
        ahead = collections.deque()
        with concurrent.futures.ProcessPoolExecutor(self.jobs) as pool:
            try:
                for offset, length in _spans(entries, self.block_size):
                    ahead.append((offset, length, pool.submit(_claimed_hashes_in, str(path), offset, length)))
                    if len(ahead) > 2 * self.jobs:
                        done, size, future = ahead.popleft()
                        first, hashes = future.result()
                        yield done, size, hashes if first == self.size else [None] * len(hashes)
                while ahead:
                    done, size, future = ahead.popleft()
                    first, hashes = future.result()
                    yield done, size, hashes if first == self.size else [None] * len(hashes)
            finally:
                pool.shutdown(cancel_futures=True)

    def entry(self, raw: bytes) -> None:
        """The checks of :meth:`run` on one line of ``entries.jsonl`` (with its newline, if it has one), read as JSON
        in general; the leaf joins the tree if they pass."""
        number = self.size + 1  # every line before this one added a leaf
        try:
            line = raw.decode("utf-8")
        except ValueError as exc:
            raise ExportInvalid(f"entries.jsonl line {number}: not JSON ({exc})") from None
        index, text, stated_hash = _line_fields(line, number)
        if index != self.size:
            raise ExportInvalid(f"index gap: expected {self.size}, found {index}")
        try:
            leaf_hash = hashlib.sha256(merkle.LEAF_PREFIX + text.encode("utf-8")).digest()
        except UnicodeEncodeError:
            raise ExportInvalid(f"entry {index}: the leaf is not valid Unicode text") from None
        if stated_hash is not None and stated_hash != leaf_hash.hex():
            if not _is_hex_hash(stated_hash):
                raise ExportInvalid(f"entry {index}: leaf_hash is not a lowercase hex SHA-256")
            raise ExportInvalid(f"entry {index}: leaf hash does not match its bytes")
        error = leaf_index_error(index, text)
        if error is not None:
            raise ExportInvalid(error)
        self.tree.append(leaf_hash)
        self.size += 1

    def checkpoint(self, item: dict[str, Any], signature: SignatureCheck) -> None:
        """Increasing size, root, body, signature (``signature``: gpg's check of its body and signature, started when
        the checkpoint was read), consistency with the previous checkpoint."""
        size: int = item["tree_size"]
        name = f"checkpoint at {size}"
        if size < 0 or (self.previous is not None and size <= self.previous[0]):
            previous = self.previous[0] if self.previous else None
            raise ExportInvalid(f"{name}: tree size does not increase (previous checkpoint at {previous})")
        if size != self.tree.size:  # checked as soon as the leaves reach its size: cannot differ, but say so
            raise ExportInvalid(f"{name}: not a tree size of the trail")
        root = self.tree.root()
        if item["root_hash"] != root.hex():
            raise ExportInvalid(f"{name}: root differs from the entries")
        if item["body"] != expected_body(item["origin"], size, root):
            raise ExportInvalid(f"{name}: body is not the checkpoint of its origin, size and root")
        fingerprint = item["key_fingerprint"].upper()
        if self.expected and fingerprint not in self.expected:
            raise ExportInvalid(f"{name}: signed by {fingerprint}, not by an expected key")
        if fingerprint not in signature.result():
            raise ExportInvalid(f"{name}: signature does not verify")
        proof = item.get("consistency_proof", [])
        if not isinstance(proof, list) or not all(_is_hex_hash(h) for h in proof):
            raise ExportInvalid(f"{name}: the consistency proof is malformed")
        hashes = [bytes.fromhex(h) for h in proof]
        if self.previous is None:
            if hashes:
                raise ExportInvalid(f"{name}: the first checkpoint carries a consistency proof")
        elif not merkle.verify_consistency(self.previous[0], size, self.previous[1], root, hashes):
            raise ExportInvalid(f"{name}: the consistency proof from {self.previous[0]} does not verify")
        self.previous = (size, root)
        self.signers.add(fingerprint)
        self.checkpoints += 1


def verify_export(
    directory: Path,
    expected_fingerprints: Sequence[str] = (),
    progress: Progress | None = None,
    *,
    jobs: int = 1,
    block_size: int = 1 << 20,
) -> Verification:
    """Verify the export in ``directory``; raise :class:`ExportInvalid` naming the first failure. ``jobs`` worker
    processes check the entry lines (1: this process alone); the verdict does not depend on it or on ``block_size``."""
    if not directory.is_dir():
        raise ExportInvalid(f"{directory}: not a folder")
    keys = directory / "public-key.asc"
    if not keys.is_file():
        raise ExportInvalid("public-key.asc: missing")
    gpg = Gpg(keys)
    try:
        expected = {f.replace(" ", "").upper() for f in expected_fingerprints}
        verification = Verification(directory, gpg, expected, progress, jobs=jobs, block_size=block_size)
        verification.run()
    finally:
        gpg.close()
        if progress is not None:
            progress.close()
    return verification


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Verify a Veilig Delen audit trail export offline.")
    parser.add_argument("export_dir", type=Path, help="folder written by 'manage.py audit_export'")
    parser.add_argument("--quiet", action="store_true", help="print nothing when the export verifies")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal and not --quiet)",
    )
    parser.add_argument(
        "--expect-fingerprint",
        action="append",
        default=[],
        metavar="FPR",
        help="require every checkpoint to be signed by this key (repeat for several); compare with a fingerprint "
        "obtained independently of the export",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(os.cpu_count() or 1, 8),
        metavar="N",
        help="processes that check the entry lines (default: one per CPU, at most 8; 1: all in this process)",
    )
    args = parser.parse_args(argv)
    try:
        show = args.progress if args.progress is not None else sys.stderr.isatty() and not args.quiet
        progress = Progress(sys.stderr) if show else None
        result = verify_export(args.export_dir, args.expect_fingerprint, progress, jobs=args.jobs)
    except ExportInvalid as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except VerifierUnavailable as problem:
        print(f"cannot verify: {problem}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"OK: {result.size} entries, {result.checkpoints} checkpoints verified")
        if result.signers:
            print(f"signed by: {', '.join(sorted(result.signers))}")
        covered = result.previous[0] if result.previous else 0
        if covered < result.size:
            print(f"note: entries {covered} to {result.size - 1} are not yet covered by a checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
