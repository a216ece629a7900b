"""Admin sessions for tests: a staff login verified with a TOTP device, as the admin requires outside demo mode
(issue #9, item 7)."""

from __future__ import annotations

import time

from django.contrib.auth.base_user import AbstractBaseUser
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice:
    """The user's confirmed authenticator (one is made if there is none)."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()
    return device or TOTPDevice.objects.create(user_id=user.pk, name="test authenticator", confirmed=True)


def token_now(device: TOTPDevice) -> str:
    """The code the authenticator app shows now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def verified_admin_client(user: AbstractBaseUser) -> Client:
    """A client logged in as ``user`` whose session was verified with the user's TOTP device (what the admin's
    login form does after a correct password and code), without going through the form."""
    device = confirmed_device(user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
