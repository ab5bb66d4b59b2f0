"""WhatsApp numbers of a workspace: sandbox numbers, QR-paired Evolution v2 / GO numbers
(an instance is created at the provider) and bring-your-own Meta Cloud API numbers."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids
from zapgate.domain.keys import IssuedKey
from zapgate.domain.number_commands import AddMetaNumber
from zapgate.domain.number_commands import AddNumber as AddNumber  # what create_number takes
from zapgate.domain.numbers import (
    DEFAULT_SETTINGS,
    PRIMARY,
    SECONDARY,
    CreatedNumber,
    LinkReading,
    ListedNumber,
    NewNumber,
    Number,
    PairingCodes,
)
from zapgate.domain.webhooks import CreatedEndpoint, NewEndpoint
from zapgate.providers import base
from zapgate.providers.base import ProviderKind, Registration
from zapgate.services import credentials, events, keys, webhooks
from zapgate.services.inbox import apply as inbox_apply
from zapgate.storage.database import Connection
from zapgate.storage.repositories.numbers import NumberRepository
from zapgate.webhooks import payloads

_log = logging.getLogger("zapgate.numbers")

RESTORE_DAYS = 30
RESTORE_WINDOW_MS = RESTORE_DAYS * 86_400_000


async def create_number(
    container: Container, *, workspace_id: str, add: AddNumber, webhook: NewEndpoint | None = None
) -> CreatedNumber:
    """``POST /v1/numbers``: a sandbox number (connected at once) or an unofficial number backed
    by Evolution v2 / GO (an instance is created, with Zapgate's callback registered on it, and
    the QR code / pairing code to link the phone is returned). ``webhook``: an endpoint made
    with the number, which gets its ``number.created``."""
    provider = add.provider
    registry = container.providers
    if provider not in registry.kinds():
        creatable = (k for k in registry.kinds() if registry.features(k).registration is Registration.CREATE)
        raise errors.ValidationFailed(
            f"Unknown provider {provider!r}; available: {', '.join(creatable)}",
            details=[{"field": "provider", "message": "unknown provider"}],
        )
    features = registry.features(provider)
    if features.registration is Registration.CREDENTIALS:
        raise errors.ValidationFailed(
            f"{features.label} numbers are registered with POST /v1/numbers/meta",
            details=[{"field": "provider", "message": "use POST /v1/numbers/meta"}],
        )
    new = NewNumber(
        id=ids.new_id("wn"),
        workspace_id=workspace_id,
        name=add.name,
        number=add.number,
        provider=provider,
        official=add.official and features.simulated,
        settings={**DEFAULT_SETTINGS, **add.settings},
    )
    async with container.db.read() as conn:
        await check_capacity(conn, workspace_id, add.number)
        await _check_not_soft_deleted(conn, workspace_id, add.number, container.clock.now_ms())
    pairing = base.Pairing(state="OPEN")
    if features.pairing:
        new, pairing = await _provision(container, new)
    try:
        key, hook = await _insert(container, new, webhook)
    except Exception:
        await _deprovision_quietly(container, new)
        raise
    return CreatedNumber(
        number=await get_row(container, workspace_id, new.id),
        key=key,
        qrcode_base64=pairing.qrcode_base64,
        pairing_code=pairing.pairing_code,
        webhook=hook,
    )


async def _provision(container: Container, new: NewNumber) -> tuple[NewNumber, base.Pairing]:
    provisioner = container.providers.provisioner(new.provider)
    assert provisioner is not None
    ref = base.NumberRef(id=new.id, number=new.number, provider=new.provider, official=False)
    provisioned = await provisioner.provision(
        ref,
        callback_url=_callback_url(container, new.provider, new.id),
        callback_secret=secrets.token_urlsafe(32),
    )
    creds = provisioned.credentials
    provisioned_new = dataclasses.replace(
        new, state=provisioned.pairing.state, provider_ref=creds.get("instanceName"), credentials=creds
    )
    return provisioned_new, provisioned.pairing


async def _deprovision_quietly(container: Container, new: NewNumber) -> None:
    provisioner = container.providers.provisioner(new.provider)
    if provisioner is None or new.credentials is None:
        return
    ref = base.NumberRef(
        id=new.id, number=new.number, provider=new.provider, official=False, credentials=new.credentials
    )
    with contextlib.suppress(Exception):
        await provisioner.deprovision(ref)


async def _insert(
    container: Container, new: NewNumber, webhook: NewEndpoint | None
) -> tuple[IssuedKey, CreatedEndpoint | None]:
    """Store the number with its key (and its webhook endpoint), and emit ``number.created``,
    in one transaction."""
    now = container.clock.now_ms()
    sealed = credentials.seal_credentials(container, new.credentials) if new.credentials else None
    hook = None
    async with container.db.write() as conn:
        await check_capacity(conn, new.workspace_id, new.number)
        await container.repos.numbers.insert(conn, new, credentials_enc=sealed, now_ms=now)
        key = await keys.issue_key(conn, workspace_id=new.workspace_id, number_id=new.id, now_ms=now)
        if webhook is not None:
            webhook_id, secret = await webhooks.add_endpoint(
                container,
                conn,
                workspace_id=new.workspace_id,
                actor="api:tenant",
                new=dataclasses.replace(webhook, number_id=new.id),
            )
            hook = await webhooks.created_with_number(
                container, conn, workspace_id=new.workspace_id, webhook_id=webhook_id, secret=secret
            )
        number = await container.repos.numbers.current(conn, new.id)
        queued = await events.emit(
            conn,
            number_id=new.id,
            event="number.created",
            data=payloads.number_data(number, at_ms=now),
            order_key=new.id,
            seq=now,
            now_ms=now,
        )
    container.wake.numbers.set()
    container.wake.dispatch.set()
    if queued:
        container.wake.webhooks.set()
    return key, hook


# -- Meta Cloud API numbers (bring your own WABA) ---------------------------------------------


async def register_meta_number(
    container: Container, *, workspace_id: str, add: AddMetaNumber, webhook: NewEndpoint | None = None
) -> CreatedNumber:
    """``POST /v1/numbers/meta``: checks the credentials against the Graph API, stores them
    encrypted (never returned) and connects the number."""
    async with container.db.read() as conn:
        await check_capacity(conn, workspace_id, add.number)
        await _check_not_soft_deleted(conn, workspace_id, add.number, container.clock.now_ms())
        await check_meta_ref_free(conn, add.phone_number_id)
    new = NewNumber(
        id=ids.new_id("wn"),
        workspace_id=workspace_id,
        name=add.name,
        number=add.number,
        provider=ProviderKind.META,
        official=True,
        settings=dict(DEFAULT_SETTINGS),
        provider_ref=add.phone_number_id,
        credentials=add.credentials,
    )
    profile = await _describe_meta(container, new)
    new = dataclasses.replace(new, profile_name=profile.verified_name)
    key, hook = await _insert(container, new, webhook)
    container.callback_secrets.clear()
    return CreatedNumber(
        number=await get_row(container, workspace_id, new.id),
        key=key,
        display_phone_number=profile.display_phone_number,
        quality_rating=profile.quality_rating,
        webhook=hook,
    )


async def _describe_meta(container: Container, new: NewNumber) -> base.NumberProfile:
    submitter = container.providers.template_submitter(ProviderKind.META)
    assert submitter is not None
    ref = base.NumberRef(
        id=new.id, number=new.number, provider=ProviderKind.META, official=True, credentials=new.credentials
    )
    try:
        return await submitter.describe_number(ref)
    except errors.ProviderAuthError:
        raise errors.ValidationFailed(
            "Meta refused the access token (Graph error 190): use a valid system-user token",
            code="PROVIDER_AUTH_FAILED",
        ) from None
    except errors.ValidationFailed as exc:
        raise errors.ValidationFailed(
            f"Meta does not know this phoneNumberId for the token: {exc.message}",
            code="META_NUMBER_NOT_FOUND",
        ) from None


# -- pairing and link state --------------------------------------------------------------------


async def connect(
    container: Container, *, workspace_id: str, number_id: str, link: str = PRIMARY
) -> PairingCodes:
    """``GET /v1/numbers/{id}/connect[?link=secondary]``: a fresh QR code / pairing code for one
    of the number's links."""
    row = await get_row(container, workspace_id, number_id)
    provisioner = container.providers.provisioner(row.provider)
    if container.providers.features(row.provider).cloud_api:
        raise errors.ValidationFailed("Meta numbers are not paired by QR code", code="NOT_SUPPORTED_FOR_META")
    _check_link(row, link)
    if provisioner is None or row.state_of(link) == "OPEN":
        raise errors.Conflict("The number is already connected", code="NUMBER_ALREADY_CONNECTED")
    pairing = await provisioner.connect(credentials.link_ref(container, row, link))
    if pairing.state == "OPEN":
        await _record_link(container, row, _update(row, link, "OPEN"))
        raise errors.Conflict("The number is already connected", code="NUMBER_ALREADY_CONNECTED")
    return PairingCodes(qrcode_base64=pairing.qrcode_base64, pairing_code=pairing.pairing_code)


async def link_status(
    container: Container, *, workspace_id: str, number_id: str, link: str = PRIMARY
) -> LinkReading:
    """``GET /v1/numbers/{id}/status[?link=secondary]``: a live reading of one link for
    Evolution numbers, the last known state otherwise (``stale``)."""
    row = await get_row(container, workspace_id, number_id)
    _check_link(row, link)
    provisioner = container.providers.provisioner(row.provider)
    if provisioner is None:
        read_at = row.state_checked_at or row.updated_at
        return LinkReading(row.id, row.state, stale=True, read_at=read_at, fully_connected=row.connected)
    live = await provisioner.link_status(credentials.link_ref(container, row, link))
    update = _update(row, link, live.state, health=live.health, profile_name=live.profile_name)
    after = await _record_link(container, row, update)
    return LinkReading(
        row.id, live.state, stale=False, read_at=container.clock.now_ms(), fully_connected=after.connected
    )


async def upgrade_to_dual(container: Container, *, workspace_id: str, number_id: str) -> PairingCodes:
    """``POST /v1/numbers/{id}/upgrade-to-dual``: a second instance at the provider for the
    same phone (a second linked device, the number's secondary link), with Zapgate's callback
    on it, and the QR code / pairing code to link it. While the primary link is down the number
    sends through the secondary one."""
    row = await get_row(container, workspace_id, number_id)
    features = container.providers.features(row.provider)
    if features.cloud_api:
        raise errors.ValidationFailed(
            "Meta Cloud API numbers have no linked devices: dual links are for QR-paired numbers",
            code="NOT_SUPPORTED_FOR_META",
        )
    provisioner = container.providers.provisioner(row.provider)
    if provisioner is None:
        raise errors.NotSupported(
            f"Dual links are for QR-paired numbers, not {features.label} numbers", feature="Dual links"
        )
    if row.dual:
        raise errors.Conflict("The number has a secondary link already", code="DUAL_LINK_EXISTS")
    ref = base.NumberRef(
        id=f"{row.id}{SECONDARY_INSTANCE_SUFFIX}", number=row.number, provider=row.provider, official=False
    )
    provisioned = await provisioner.provision(
        ref,
        callback_url=_callback_url(container, row.provider, row.id),
        callback_secret=secrets.token_urlsafe(32),
    )
    creds = provisioned.credentials
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        added = await NumberRepository.add_secondary(
            conn,
            row.id,
            ref=str(creds.get("instanceName") or ""),
            credentials_enc=credentials.seal_credentials(container, creds),
            state=provisioned.pairing.state,
            now_ms=now,
        )
    if not added:  # another request upgraded it (or deleted it) meanwhile
        with contextlib.suppress(Exception):
            await provisioner.deprovision(dataclasses.replace(ref, credentials=creds))
        raise errors.Conflict("The number has a secondary link already", code="DUAL_LINK_EXISTS")
    container.callback_secrets.clear()  # the number's callbacks now come from two instances
    container.wake.numbers.set()
    container.wake.dispatch.set()
    pairing = provisioned.pairing
    return PairingCodes(qrcode_base64=pairing.qrcode_base64, pairing_code=pairing.pairing_code)


# A secondary link's instance is named after the number's id with this suffix.
SECONDARY_INSTANCE_SUFFIX = "-2"


def _check_link(row: Number, link: str) -> None:
    if link == SECONDARY and not row.dual:
        raise errors.NotFound(
            "The number has no secondary link: add one with POST /v1/numbers/{id}/upgrade-to-dual",
            code="SECONDARY_LINK_NOT_FOUND",
        )


def _update(
    row: Number, link: str, state: str, *, health: str | None = None, profile_name: str | None = None
) -> base.ConnectionUpdate:
    """A link's state as a connection update (``route``: the link's instance)."""
    route = row.secondary_ref if link == SECONDARY else row.provider_ref
    return base.ConnectionUpdate(state=state, health=health, profile_name=profile_name, route=route)


def _callback_url(container: Container, provider: str, number_id: str) -> str:
    path = container.providers.features(provider).callback_path
    return f"{container.settings.public_url.rstrip('/')}/webhooks/{path}/{number_id}"


async def _record_link(container: Container, row: Number, update: base.ConnectionUpdate) -> Number:
    """Apply a link reading as a callback would; the number as it is after."""
    async with container.db.write() as conn:
        current = await container.repos.numbers.current(conn, row.id)
        changed, webhooks = await inbox_apply.apply_connection(
            conn, current, update, now_ms=container.clock.now_ms()
        )
        after = await container.repos.numbers.current(conn, row.id)
    if webhooks:
        container.wake.webhooks.set()
    if changed:
        container.wake.numbers.set()
        container.wake.dispatch.set()
    return after


async def check_capacity(conn: Connection, workspace_id: str, number: str) -> None:
    """In the caller's transaction: the number is new to the workspace and its plan has room."""
    capacity = await NumberRepository.capacity(conn, workspace_id)
    if number in capacity.live_numbers:
        raise errors.Conflict(
            "This phone number is already registered in the workspace", code="NUMBER_ALREADY_EXISTS"
        )
    if capacity.max_numbers is not None and len(capacity.live_numbers) >= capacity.max_numbers:
        raise errors.Conflict(
            f"The workspace plan allows {capacity.max_numbers} number(s); upgrade the plan to add more",
            code="NUMBER_LIMIT_EXCEEDED",
        )


async def _check_not_soft_deleted(conn: Connection, workspace_id: str, number: str, now_ms: int) -> None:
    if await NumberRepository.deleted_since(conn, workspace_id, number, now_ms - RESTORE_WINDOW_MS):
        raise errors.Conflict(
            f"This phone number was deleted less than {RESTORE_DAYS} days ago: restore it or "
            "delete it permanently first",
            code="NUMBER_SOFT_DELETED",
            details=[{"field": "number", "message": "deleted recently: restore or purge it"}],
        )


async def check_meta_ref_free(conn: Connection, phone_number_id: str) -> None:
    if await NumberRepository.ref_taken(conn, ProviderKind.META, phone_number_id):
        raise errors.Conflict("This phoneNumberId is already registered", code="NUMBER_ALREADY_EXISTS")


async def get_row(container: Container, workspace_id: str, number_id: str) -> Number:
    """The workspace's live number (``404 NUMBER_NOT_FOUND`` otherwise)."""
    number = await container.repos.numbers.get(workspace_id, number_id)
    if number is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return number


async def list_numbers(
    container: Container, *, workspace_id: str, only_number_id: str | None = None
) -> tuple[ListedNumber, ...]:
    """The workspace's live numbers (only the one given, when given) with their keys, masked."""
    return await container.repos.numbers.list(workspace_id, only_number_id)


async def live_numbers(container: Container, *, workspace_id: str) -> tuple[Number, ...]:
    """The workspace's live numbers, oldest first (the dashboard's number picker)."""
    return await container.repos.numbers.live(workspace_id)
