"""The Dutch citizen service number (burgerservicenummer): nine digits that pass the eleven test."""

from django.core.exceptions import ValidationError

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(value: object) -> bool:
    """True for a string of exactly nine ASCII digits whose weighted sum is a multiple of 11 and not 0."""
    if not isinstance(value, str) or len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _WEIGHTS, strict=True))
    return total != 0 and total % 11 == 0


def validate_bsn(value: str) -> None:
    if not is_valid_bsn(value):
        raise ValidationError("A BSN is nine digits that pass the eleven test.", code="invalid_bsn")
