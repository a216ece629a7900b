"""The one wrapper for all OpenPGP work of the gateway: its signing key, detached signatures of checkpoints
(audit.md, "Checkpoints") and of the console's exports, encryption to an officer's key, verification.

Nothing else imports python-gnupg (``tests/audit/test_signing_wrapper.py`` sweeps the source tree). The one other
caller of gpg is ``audit/offline_verify.py``, on purpose: a regulator runs it without the gateway's code, Django or
any third-party package, so it drives the ``gpg`` binary itself (docs/audit.md, "Verification"). Settings are read
inside the functions, never at import time.

Everything goes through python-gnupg and the stock ``gpg`` binary, so that anyone can check a signature with the
same tool. The key lives in ``GATEWAY_GNUPGHOME``; it is created on first use (Ed25519, no passphrase: the keyring
folder's permissions protect it) or imported from ``GATEWAY_SIGNING_KEY_FILE``. gpg is never called on a
partner's request path: only checkpoint signing (a Celery task or a command), an officer's export and
verification do.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import gnupg
from django.conf import settings

KEY_UID = "Veilig Delen audit log <audit@veilig-delen.local>"


class SigningError(RuntimeError):
    """The key could not be created, found or used."""


@dataclass(frozen=True)
class SigningKey:
    fingerprint: str
    public_armored: str


def _gpg(home: Path | None = None) -> gnupg.GPG:
    home = home or Path(settings.GATEWAY_GNUPGHOME)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)
    return gnupg.GPG(gnupghome=str(home), use_agent=False)


def _secret_fingerprint(gpg: gnupg.GPG) -> str | None:
    for key in gpg.list_keys(secret=True):
        if KEY_UID in key.get("uids", []):
            return str(key["fingerprint"])
    return None


def signing_key_ensure() -> SigningKey:
    """The signing key, created (or imported from ``GATEWAY_SIGNING_KEY_FILE``) the first time it is needed."""
    gpg = _gpg()
    fingerprint = _secret_fingerprint(gpg)
    if fingerprint is None:
        key_file = os.environ.get("GATEWAY_SIGNING_KEY_FILE")
        if key_file:
            result = gpg.import_keys(Path(key_file).read_text())
            if not result.fingerprints:
                raise SigningError(f"no key could be imported from {key_file}")
            fingerprint = _secret_fingerprint(gpg) or result.fingerprints[0]
        else:
            params = gpg.gen_key_input(
                key_type="EDDSA",
                key_curve="ed25519",
                key_usage="sign",
                name_real="Veilig Delen audit log",
                name_email="audit@veilig-delen.local",
                expire_date=0,
                no_protection=True,
            )
            created = gpg.gen_key(params)
            if not created.fingerprint:
                raise SigningError(f"gpg could not create the signing key: {created.stderr[-500:]}")
            fingerprint = str(created.fingerprint)
    public = gpg.export_keys(fingerprint)
    if not public:
        raise SigningError("the signing key's public part could not be exported")
    return SigningKey(fingerprint=fingerprint, public_armored=str(public))


def public_key_armored() -> str | None:
    """The public key, if the signing key exists (never creates one: this runs on the request path)."""
    gpg = _gpg()
    fingerprint = _secret_fingerprint(gpg)
    return str(gpg.export_keys(fingerprint)) if fingerprint else None


def sign_detached(body: bytes, key: SigningKey) -> str:
    """An ASCII-armoured detached signature of ``body``."""
    gpg = _gpg()
    signed = gpg.sign(body, keyid=key.fingerprint, detach=True, clearsign=False, binary=False)
    signature = str(signed)
    if not signature.startswith("-----BEGIN PGP SIGNATURE-----"):
        raise SigningError(f"gpg did not sign: {getattr(signed, 'stderr', '')[-500:]}")
    return signature


def sign_file_detached(path: Path, key: SigningKey) -> Path:
    """An ASCII-armoured detached signature of the file at ``path``, written next to it as ``<name>.asc``; the
    file is streamed to gpg, so a large export is never read into memory."""
    signature = path.with_name(path.name + ".asc")
    gpg = _gpg()
    with path.open("rb") as handle:
        signed = gpg.sign_file(
            handle, keyid=key.fingerprint, detach=True, clearsign=False, binary=False, output=str(signature)
        )
    if not signature.exists() or not signature.read_text().startswith("-----BEGIN PGP SIGNATURE-----"):
        raise SigningError(f"gpg did not sign {path.name}: {getattr(signed, 'stderr', '')[-300:]}")
    return signature


class RecipientKeyUnreadable(SigningError):
    """The recipient's public key could not be imported: nothing is encrypted (and nothing goes out in clear)."""


def encrypt_files_to(paths: Iterable[Path], recipient_armored: str) -> list[Path]:
    """Encrypt each file to the recipient's public key, as ``<name>.gpg`` next to it, with a throw-away keyring
    that holds only that key (so no other key on the gateway can be a recipient)."""
    encrypted = []
    with tempfile.TemporaryDirectory(prefix="vd-recipient-key-") as home:
        gpg = _gpg(Path(home))
        imported = gpg.import_keys(recipient_armored)
        if not imported.fingerprints:
            raise RecipientKeyUnreadable("gpg imported no key")
        for path in paths:
            target = path.with_name(path.name + ".gpg")
            with path.open("rb") as handle:
                result = gpg.encrypt_file(
                    handle, recipients=imported.fingerprints, always_trust=True, armor=False, output=str(target)
                )
            if not result.ok or not target.exists():
                raise SigningError(str(result.status))
            encrypted.append(target)
    return encrypted


def verify_detached(body: bytes, signature: str, public_armored: str) -> str | None:
    """Verify with a throw-away keyring that holds only ``public_armored``; the signer's fingerprint or None."""
    with tempfile.TemporaryDirectory(prefix="vd-verify-") as home:
        gpg = _gpg(Path(home))
        imported = gpg.import_keys(public_armored)
        if not imported.fingerprints:
            return None
        with tempfile.NamedTemporaryFile("w", suffix=".asc", dir=home, delete=False) as handle:
            handle.write(signature)
        verified = gpg.verify_data(handle.name, body)
        if verified.valid and verified.fingerprint in imported.fingerprints:
            return str(verified.fingerprint)
        # a subkey signature reports the primary key's fingerprint in pubkey_fingerprint
        primary = getattr(verified, "pubkey_fingerprint", None)
        if verified.valid and primary in imported.fingerprints:
            return str(primary)
        return None
