"""What the number services take: a number to add (:class:`AddNumber`, :class:`AddMetaNumber`),
a change to one (:class:`NumberPatch`) and a number with a remote pairing link
(:class:`NewPairingLink`), each checked as far as it can be without the database or a provider.

The functions below build them from the values a client gave, of any type, and refuse them
with ``VALIDATION_ERROR`` (the API's codes, messages and ``details``). The API
(``web.views.numbers``) takes those values from JSON bodies and the dashboard from its forms, so
a form refuses what the API refuses, in the same words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from zapgate import errors
from zapgate.domain import phones, urls
from zapgate.domain.numbers import DEFAULT_SETTINGS
from zapgate.domain.remote_pairing import MAX_EXTERNAL_REF

Problem = dict[str, str]

NAME_MAX = 200
PACE_MAX = 1000
RETENTION_DAYS_MAX = 3650
PII_MODES = ("RELAY_ONLY", "STORE_X_DAYS", "STORE_INDEFINITE")
KEEPS_DAYS = "STORE_X_DAYS"  # the only PII mode with a retention
# Settings that are plain switches; the others (Evolution GO's advanced settings) also take
# null, which resets them to the provider's default.
SWITCHES = frozenset(
    {"historyImportEnabled", "webhookHistoricalMessages", "ignoreNewsletters", "markReadOnSend"}
)
READ_ONLY_SETTING = "appliesTo"  # shown by GET; accepted back, never stored
HEADER_SAFE = "must be printable ASCII without spaces, as Meta issues it"
_RETENTION = f"required with {KEEPS_DAYS}: whole days, 1-{RETENTION_DAYS_MAX}"


class Keep(Enum):
    """A field a patch leaves as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True)
class AddNumber:
    """A number to add: its name (trimmed), phone (bare digits), provider kind (checked against
    the registry by the service) and the settings it starts with (over ``DEFAULT_SETTINGS``;
    others are dropped, unchecked, as ever)."""

    name: str
    number: str
    provider: str
    official: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AddMetaNumber:
    """A bring-your-own Meta Cloud API number and its credentials (checked against the Graph
    API by the service, then stored encrypted)."""

    name: str
    number: str
    phone_number_id: str
    waba_id: str
    access_token: str = field(repr=False)
    app_secret: str | None = field(default=None, repr=False)

    @property
    def credentials(self) -> dict[str, str]:
        """As they are stored (sealed)."""
        stored = {
            "phoneNumberId": self.phone_number_id,
            "wabaId": self.waba_id,
            "accessToken": self.access_token,
        }
        if self.app_secret:
            stored["appSecret"] = self.app_secret
        return stored


@dataclass(frozen=True)
class NumberPatch:
    """A change to a number; ``KEEP`` fields stay as they are. ``settings`` holds the settings
    to change (merged over the stored ones). ``pii_retention_days`` is None when it was given
    but is not a number of days: refused if the number's mode turns out to be STORE_X_DAYS,
    which only the stored number tells when ``pii_mode`` is kept."""

    pace_per_second: float | Keep | None = KEEP
    settings: Mapping[str, Any] | Keep = KEEP
    pii_mode: str | Keep = KEEP
    pii_retention_days: int | Keep | None = KEEP

    @property
    def empty(self) -> bool:
        return self == NumberPatch()


@dataclass(frozen=True)
class NewPairingLink:
    """A QR-paired number to add and what its remote pairing link carries."""

    number: AddNumber
    redirect_url: str | None = None
    external_ref: str | None = None
    link_to_api_key: bool = False
    send_via_whatsapp: bool = False


# -- adding a number --------------------------------------------------------------------------


def identity_problems(name: object, number: object) -> list[Problem]:
    """What is wrong with a new number's name and phone number, in that order."""
    problems: list[Problem] = []
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        problems.append({"field": "name", "message": f"required, 1-{NAME_MAX} characters"})
    if _digits(number) is None:
        problems.append({"field": "number", "message": "required, E.164 phone number"})
    return problems


def _digits(number: object) -> str | None:
    e164 = phones.normalize_e164(number) if isinstance(number, str) else None
    return phones.bare_digits(e164) if e164 is not None else None


def add_number(
    *,
    name: object,
    number: object,
    provider: str,
    official: object = False,
    settings: Mapping[str, Any] | None = None,
) -> AddNumber:
    """The number to add (``Invalid number`` with each problem otherwise)."""
    problems = identity_problems(name, number)
    if not isinstance(official, bool):
        problems.append({"field": "official", "message": "must be a boolean"})
    if problems:
        raise errors.ValidationFailed("Invalid number", details=problems)
    assert isinstance(name, str) and isinstance(official, bool)
    digits = _digits(number)
    assert digits is not None
    known = {k: v for k, v in (settings or {}).items() if k in DEFAULT_SETTINGS}
    return AddNumber(name.strip(), digits, provider, official, known)


def header_safe(value: str) -> bool:
    """Meta's tokens and secrets are printable ASCII; anything else cannot travel in an HTTP
    header (and would be reported as an upstream failure instead of a bad input)."""
    return value.isascii() and value.isprintable() and not any(c.isspace() for c in value)


def add_meta_number(
    *,
    name: object,
    number: object,
    phone_number_id: object,
    waba_id: object,
    access_token: object,
    app_secret: object = None,
) -> AddMetaNumber:
    """The Meta number to register (``Invalid Meta number`` with each problem otherwise; the
    name's and number's first). ``app_secret``: None when not given."""
    given = {"phoneNumberId": phone_number_id, "wabaId": waba_id, "accessToken": access_token}
    problems: list[Problem] = []
    creds: dict[str, str] = {}
    for key, value in given.items():
        if isinstance(value, str) and value.strip():
            creds[key] = value.strip()
        else:
            problems.append({"field": key, "message": "required string"})
    for key in ("phoneNumberId", "wabaId"):
        if key in creds and not (creds[key].isascii() and creds[key].isdigit()):
            problems.append({"field": key, "message": "must be Meta's numeric id"})
    if "accessToken" in creds and not header_safe(creds["accessToken"]):
        problems.append({"field": "accessToken", "message": HEADER_SAFE})
    secret_problem = _secret_problem(app_secret)
    if secret_problem:
        problems.append({"field": "appSecret", "message": secret_problem})
    problems = identity_problems(name, number) + problems
    if problems:
        raise errors.ValidationFailed("Invalid Meta number", details=problems)
    assert isinstance(name, str) and (app_secret is None or isinstance(app_secret, str))
    digits = _digits(number)
    assert digits is not None
    return AddMetaNumber(
        name=name.strip(),
        number=digits,
        phone_number_id=creds["phoneNumberId"],
        waba_id=creds["wabaId"],
        access_token=creds["accessToken"],
        app_secret=app_secret or None,
    )


def _secret_problem(secret: object) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not secret:
        return "must be a non-empty string"
    return None if header_safe(secret) else HEADER_SAFE


# -- changing a number ------------------------------------------------------------------------


def number_patch(
    *,
    pace_per_second: object = KEEP,
    settings: object = KEEP,
    pii_mode: object = KEEP,
    pii_retention_days: object = KEEP,
    problems: Sequence[Problem] = (),
) -> NumberPatch:
    """The change (``VALIDATION_ERROR`` listing ``problems``, the caller's own, then each of
    these, otherwise). ``KEEP``: not given."""
    found = list(problems)
    pace = _pace(pace_per_second, found)
    changes = _setting_changes(settings, found)
    mode, days = _pii(pii_mode, pii_retention_days, found)
    if found:
        raise errors.ValidationFailed(
            "; ".join(f"{p['field']}: {p['message']}" for p in found), details=found
        )
    return NumberPatch(pace, changes, mode, days)


def _pace(value: object, found: list[Problem]) -> float | Keep | None:
    if isinstance(value, Keep) or value is None:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= PACE_MAX:
        return value
    found.append({"field": "pacePerSecond", "message": f"(0, {PACE_MAX}] or null"})
    return KEEP


def _setting_changes(given: object, found: list[Problem]) -> dict[str, Any] | Keep:
    if isinstance(given, Keep):
        return given
    if not isinstance(given, dict):
        found.append({"field": "settings", "message": "must be an object"})
        return KEEP
    changes: dict[str, Any] = {}
    for key, value in given.items():
        problem = setting_problem(key, value)
        if problem:
            found.append({"field": f"settings.{key}", "message": problem})
        elif key != READ_ONLY_SETTING:
            changes[key] = value
    return changes


def setting_problem(key: str, value: object) -> str | None:
    """What is wrong with a setting's new value (None: nothing)."""
    if key == READ_ONLY_SETTING:
        return None  # accepted so that a client may send back what it read
    if key not in DEFAULT_SETTINGS:
        return "unknown setting"
    if key in SWITCHES:
        return None if isinstance(value, bool) else "must be true or false"
    if key == "msgRejectCall":
        ok = value is None or (isinstance(value, str) and len(value) <= 1000)
        return None if ok else "a text of at most 1000 characters, or null"
    return None if value is None or isinstance(value, bool) else "true, false or null"


def _pii(mode: object, days: object, found: list[Problem]) -> tuple[str | Keep, int | Keep | None]:
    """The mode, checked; the days, checked when the mode is given as STORE_X_DAYS (with
    another mode they are dropped; with the number's own, the service checks them)."""
    if isinstance(mode, Keep):
        return mode, days if isinstance(days, Keep) else _whole_days(days)
    if mode not in PII_MODES:
        found.append({"field": "piiMode", "message": "one of " + ", ".join(PII_MODES)})
        return KEEP, KEEP
    assert isinstance(mode, str)
    if mode != KEEPS_DAYS:
        return mode, None
    if isinstance(days, Keep):
        return mode, days
    whole = _whole_days(days)
    if whole is None:
        found.append({"field": "piiRetentionDays", "message": _RETENTION})
    return mode, whole


def _whole_days(days: object) -> int | None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= RETENTION_DAYS_MAX:
        return None
    return days


def pii_values(patch: NumberPatch, *, mode: str, days: int | None) -> dict[str, Any]:
    """The PII mode and retention a patch gives a number whose are ``mode`` and ``days``:
    ``pii_retention_days`` is required with STORE_X_DAYS and forced to null otherwise."""
    if isinstance(patch.pii_mode, Keep) and isinstance(patch.pii_retention_days, Keep):
        return {}
    new_mode = mode if isinstance(patch.pii_mode, Keep) else patch.pii_mode
    if new_mode != KEEPS_DAYS:
        return {"pii_mode": new_mode, "pii_retention_days": None}
    new_days = days if isinstance(patch.pii_retention_days, Keep) else patch.pii_retention_days
    if new_days is None:
        problem = {"field": "piiRetentionDays", "message": _RETENTION}
        raise errors.ValidationFailed(f"piiRetentionDays: {_RETENTION}", details=[problem])
    return {"pii_mode": new_mode, "pii_retention_days": new_days}


# -- a remote pairing link --------------------------------------------------------------------


def new_pairing_link(
    *,
    name: object,
    number: object,
    provider: str,
    settings: Mapping[str, Any] | None = None,
    redirect_url: object = None,
    external_ref: object = None,
    link_to_api_key: object = False,
    send_via_whatsapp: object = False,
) -> NewPairingLink:
    """The link's own fields are checked first (``Invalid remote pairing request``), then the
    number's (as :func:`add_number` checks them)."""
    problems: list[Problem] = []
    for key, flag in (("linkToApiKey", link_to_api_key), ("sendViaWhatsApp", send_via_whatsapp)):
        if not isinstance(flag, bool):
            problems.append({"field": key, "message": "must be a boolean"})
    redirect: str | None = None
    if redirect_url is not None:
        try:
            redirect = urls.check_target(redirect_url, allow_private=True, field="redirectUrl")
        except errors.ValidationFailed as exc:
            problems.extend(exc.extra.get("details") or [])
    if external_ref is not None and (
        not isinstance(external_ref, str) or not external_ref or len(external_ref) > MAX_EXTERNAL_REF
    ):
        problems.append({"field": "externalRef", "message": f"a string of 1-{MAX_EXTERNAL_REF} characters"})
    if problems:
        raise errors.ValidationFailed("Invalid remote pairing request", details=problems)
    assert external_ref is None or isinstance(external_ref, str)
    return NewPairingLink(
        number=add_number(name=name, number=number, provider=provider, settings=settings),
        redirect_url=redirect,
        external_ref=external_ref,
        link_to_api_key=link_to_api_key is True,
        send_via_whatsapp=send_via_whatsapp is True,
    )
