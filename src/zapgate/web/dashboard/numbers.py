"""``/numbers``: the workspace's numbers. Add one (sandbox, Evolution v2 / GO paired by QR code,
Meta Cloud API), link the phone, change its settings, delete, restore or purge it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate import errors
from zapgate.domain import number_commands
from zapgate.domain.numbers import PRIMARY, SECONDARY, CreatedNumber, Number, PairingCodes
from zapgate.providers.base import ProviderKind, Registration
from zapgate.services import number_changes, numbers, remote_pairing
from zapgate.web import errors as web_errors
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep
from zapgate.web.views import remote_pairing as pairing_views

router = core.page_router()

# The order of the provider choice (the registry's kinds, sandbox first).
KIND_ORDER = ("sandbox", "evolution-v2", "evolution-go", "meta")
PII_MODES = {
    "STORE_INDEFINITE": "Keep message content",
    "STORE_X_DAYS": "Keep it for a number of days",
    "RELAY_ONLY": "Relay only (keep no content)",
}
DONE = {
    "saved": "Settings saved.",
    "connected": "The number is already connected.",
    "deleted": f"Number deleted. It stopped sending; you can restore it for "
    f"{numbers.RESTORE_DAYS} days below.",
    "restored": "Number restored.",
    "restored-reconnect": "Number restored. Link the phone again to send: get a new QR code.",
    "purged": "Number deleted permanently.",
}
# Service errors without a field of their own, shown next to the field they concern.
CODE_FIELDS = {
    "PROVIDER_NOT_CONFIGURED": "provider",
    "NUMBER_ALREADY_EXISTS": "number",
    "PROVIDER_AUTH_FAILED": "accessToken",
    "META_NUMBER_NOT_FOUND": "phoneNumberId",
}
# The API's validation messages in the words of the form.
FIELD_TEXT = {
    "name": "Enter a name of up to 200 characters.",
    "number": "Enter the phone number with its country code, e.g. +55 11 99999-0000.",
    "pacePerSecond": "Enter a number above 0 and at most 1000, or leave it blank.",
    "redirectUrl": "Enter an http(s) URL, or leave it blank.",
    "externalRef": "Enter at most 200 characters, or leave it blank.",
    "piiRetentionDays": "Enter a whole number of days from 1 to 3650.",
}


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    done = DONE.get(request.query_params.get("done", ""))
    registry = request.app.state.container.providers
    kinds = sorted(registry.kinds(), key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99)
    return {
        "providers": {kind: registry.features(kind).label for kind in kinds},
        "pii_modes": PII_MODES,
        "qr_kinds": {kind for kind in kinds if registry.features(kind).pairing},
        "restore_days": numbers.RESTORE_DAYS,
        "secondary": False,
        "link_query": "",
        **({"flash": done} if done else {}),
        **extra,
    }


def _form_errors(exc: errors.ZapgateError) -> core.FormErrors:
    found = core.FormErrors.of(exc)
    fields = dict(found.fields)
    if exc.code == "VALIDATION_ERROR":
        fields.update({k: FIELD_TEXT[k] for k in fields if k in FIELD_TEXT})
        if fields:
            return core.FormErrors("Please correct the fields marked below.", fields)
    field = CODE_FIELDS.get(exc.code)
    if field and field not in fields:
        fields[field] = exc.message
    return core.FormErrors(found.message, fields)


# -- the list ---------------------------------------------------------------------------------


@router.get("/numbers")
async def list_page(request: Request, container: ContainerDep, session: core.Session) -> Response:
    active = await core.workspace_numbers(container, session.workspace_id)
    deleted = await number_changes.list_deleted(container, workspace_id=session.workspace_id)
    return core.render(
        request, "numbers/index.html", _context(request, title="Numbers", numbers=active, deleted=deleted)
    )


# -- adding a number --------------------------------------------------------------------------


def _new_form(
    request: Request, values: dict[str, str], form_errors: core.FormErrors | None = None, *, status: int = 200
) -> Response:
    # Secrets are never sent back into the page.
    safe = {k: v for k, v in values.items() if k not in ("accessToken", "appSecret")}
    return core.render(
        request,
        "numbers/new.html",
        _context(request, title="Add a number", values=safe, errors=form_errors),
        status=status,
    )


@router.get("/numbers/new")
async def new_page(request: Request, session: core.Session) -> Response:
    return _new_form(request, {"provider": "sandbox"})


@router.post("/numbers/new")
async def create(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    form = await core.form_data(request)
    try:
        created = await _create(container, session.workspace_id, form)
    except errors.ZapgateError as exc:
        return _new_form(request, form, _form_errors(exc), status=web_errors.status_of(exc))
    number = created.number
    response = core.render(
        request,
        "numbers/created.html",
        _context(
            request,
            title="Number added",
            created=created,
            number=number,
            state=number.state,
            problem="",
        ),
    )
    response.headers["Cache-Control"] = "no-store"  # the key must not stay in a cache
    return response


async def _create(container: Any, workspace_id: str, form: dict[str, str]) -> CreatedNumber:
    name, number = form.get("name", ""), form.get("number", "")
    kind = form.get("provider", "sandbox")
    known = kind in container.providers.kinds()
    if known and container.providers.features(kind).registration is Registration.CREDENTIALS:
        meta = number_commands.add_meta_number(
            name=name,
            number=number,
            phone_number_id=form.get("phoneNumberId", ""),
            waba_id=form.get("wabaId", ""),
            access_token=form.get("accessToken", ""),
            app_secret=form.get("appSecret") or None,
        )
        return await numbers.register_meta_number(container, workspace_id=workspace_id, add=meta)
    add = number_commands.add_number(
        name=name, number=number, provider=kind, official=form.get("official") == "true"
    )
    return await numbers.create_number(container, workspace_id=workspace_id, add=add)


# -- a remote pairing link (someone else links the phone) -------------------------------------

# The provider of a pairing link's number when the form names none (as for the API).
PAIRING_PROVIDER = ProviderKind.EVOLUTION_V2.value


def _pairing_form(
    request: Request, values: dict[str, str], form_errors: core.FormErrors | None = None, *, status: int = 200
) -> Response:
    ctx = _context(request, title="Create a pairing link", values=values, errors=form_errors)
    ctx["qr_providers"] = {k: v for k, v in ctx["providers"].items() if k in ctx["qr_kinds"]}
    ctx["ttl_hours"] = f"{request.app.state.container.settings.remote_pairing_ttl_seconds / 3600:g}"
    return core.render(request, "numbers/remote_pairing.html", ctx, status=status)


@router.get("/numbers/remote-pairing")
async def pairing_page(request: Request, session: core.Session) -> Response:
    return _pairing_form(request, {"provider": "evolution-v2"})


@router.post("/numbers/remote-pairing")
async def create_pairing(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    """A new QR-paired number and a link to the public page where its owner pairs it."""
    form = await core.form_data(request)
    given = {k: v.strip() for k, v in form.items() if v.strip()}  # a blank field is not given
    try:
        new = number_commands.new_pairing_link(
            name=given.get("name", ""),
            number=given.get("number", ""),
            provider=given.get("provider", PAIRING_PROVIDER),
            redirect_url=given.get("redirectUrl"),
            external_ref=given.get("externalRef"),
        )
        found = await remote_pairing.create(container, workspace_id=session.workspace_id, new=new)
    except errors.ZapgateError as exc:
        return _pairing_form(request, form, _form_errors(exc), status=web_errors.status_of(exc))
    response = core.render(
        request,
        "numbers/remote_pairing_created.html",
        _context(
            request,
            title="Pairing link created",
            found=found,
            number=found.created.number,
            url=pairing_views.page_url(container.settings.public_url, found.token),
        ),
    )
    response.headers["Cache-Control"] = "no-store"  # the link and the key must not stay in a cache
    return response


# -- linking the phone (QR code) --------------------------------------------------------------


def _which_link(request: Request) -> str:
    """The link a pairing page is about: ``?link=secondary`` for a dual number's second device."""
    return SECONDARY if request.query_params.get("link") == SECONDARY else PRIMARY


def _link_context(link: str) -> dict[str, Any]:
    secondary = link == SECONDARY
    return {"secondary": secondary, "link_query": "&link=secondary" if secondary else ""}


async def _link_state(container: Any, workspace_id: str, number_id: str, link: str) -> tuple[str, str]:
    """The link state and, when the provider could not be asked, why (polling goes on)."""
    try:
        reading = await numbers.link_status(
            container, workspace_id=workspace_id, number_id=number_id, link=link
        )
    except errors.Unavailable as exc:
        return "UNKNOWN", exc.message
    return reading.state, ""


@router.get("/numbers/{number_id}/link")
async def link(request: Request, container: ContainerDep, session: core.Session, number_id: str) -> Response:
    """The link state: a fragment for the HTMX poll (204 while nothing changed), a page
    without JavaScript (the "Refresh" link)."""
    number = await numbers.get_row(container, session.workspace_id, number_id)
    which = _which_link(request)
    state, problem = await _link_state(container, session.workspace_id, number_id, which)
    ctx = _context(request, number=number, state=state, problem=problem, **_link_context(which))
    if not request.headers.get("hx-request"):
        return core.render(request, "numbers/link.html", {**ctx, "title": "Link " + number.name})
    if not problem and request.query_params.get("shown") == state:
        return Response(status_code=204)
    if state != "OPEN":
        return core.render(request, "numbers/_link.html", ctx)
    response = core.render(request, "numbers/_connected.html", ctx)
    response.headers.update({"HX-Retarget": "#pairing", "HX-Reswap": "outerHTML"})
    return response


@router.post("/numbers/{number_id}/connect")
async def connect(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    number = await numbers.get_row(container, session.workspace_id, number_id)
    which = _which_link(request)
    try:
        pairing = await numbers.connect(
            container, workspace_id=session.workspace_id, number_id=number_id, link=which
        )
    except errors.Conflict:
        return core.redirect(f"/numbers/{number_id}?done=connected", request)
    return _pairing_page(request, number, pairing, which)


@router.post("/numbers/{number_id}/dual")
async def add_second_device(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    """A second linked device for a QR-paired number (its secondary link), and its QR code."""
    number = await numbers.get_row(container, session.workspace_id, number_id)
    try:
        pairing = await numbers.upgrade_to_dual(
            container, workspace_id=session.workspace_id, number_id=number_id
        )
    except errors.Conflict:
        return core.redirect(f"/numbers/{number_id}", request)
    return _pairing_page(request, number, pairing, SECONDARY)


def _pairing_page(request: Request, number: Number, pairing: PairingCodes, link: str) -> Response:
    title = ("Link a second device to " if link == SECONDARY else "Link ") + number.name
    return core.render(
        request,
        "numbers/pairing.html",
        _context(
            request,
            title=title,
            number=number,
            pairing=pairing,
            state="CONNECTING",
            problem="",
            **_link_context(link),
        ),
    )


# -- one number -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _values_of(number: Number) -> dict[str, Any]:
    return {
        "markReadOnSend": bool(number.effective_settings["markReadOnSend"]),
        "pacePerSecond": _text(number.pace_per_second),
        "piiMode": number.pii_mode,
        "piiRetentionDays": _text(number.pii_retention_days),
    }


def _detail(
    request: Request,
    number: Number,
    values: dict[str, Any],
    form_errors: core.FormErrors | None = None,
    *,
    status: int = 200,
) -> Response:
    features = request.app.state.container.providers.features(number.provider)
    return core.render(
        request,
        "numbers/detail.html",
        _context(
            request,
            title=number.name,
            number=number,
            cloud_api=features.cloud_api,
            values=values,
            errors=form_errors,
        ),
        status=status,
    )


async def _deleted(container: Any, workspace_id: str, number_id: str) -> number_changes.DeletedNumber:
    for gone in await number_changes.list_deleted(container, workspace_id=workspace_id):
        if gone.id == number_id:
            return gone
    raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")


@router.get("/numbers/{number_id}")
async def detail(
    request: Request, container: ContainerDep, session: core.Session, number_id: str
) -> Response:
    try:
        number = await numbers.get_row(container, session.workspace_id, number_id)
    except errors.NotFound:
        gone = await _deleted(container, session.workspace_id, number_id)
        return core.render(request, "numbers/deleted.html", _context(request, title=gone.name, gone=gone))
    return _detail(request, number, _values_of(number))


def _parsed(text: str) -> int | float | str | None:
    """A number typed in a form; anything else is checked as typed (and refused, saying why)."""
    text = text.strip()
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@router.post("/numbers/{number_id}/settings")
async def save_settings(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    form = await core.form_data(request)
    try:
        patch = number_commands.number_patch(
            settings={"markReadOnSend": form.get("markReadOnSend") == "true"},
            pace_per_second=_parsed(form.get("pacePerSecond", "")),
            pii_mode=form.get("piiMode", ""),
            pii_retention_days=_parsed(form.get("piiRetentionDays", "")),
        )
        await number_changes.patch_number(
            container, workspace_id=session.workspace_id, number_id=number_id, patch=patch
        )
    except errors.ValidationFailed as exc:
        number = await numbers.get_row(container, session.workspace_id, number_id)
        values = {**form, "markReadOnSend": form.get("markReadOnSend") == "true"}
        return _detail(request, number, values, _form_errors(exc), status=400)
    return core.redirect(f"/numbers/{number_id}?done=saved", request)


# -- delete, restore, purge -------------------------------------------------------------------


@router.post("/numbers/{number_id}/delete")
async def delete(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    await number_changes.delete_number(container, workspace_id=session.workspace_id, number_id=number_id)
    return core.redirect("/numbers?done=deleted", request)


@router.post("/numbers/{number_id}/restore")
async def restore(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    try:
        result = await number_changes.restore_number(
            container, workspace_id=session.workspace_id, number_id=number_id
        )
    except errors.Conflict as exc:
        deleted = await number_changes.list_deleted(container, workspace_id=session.workspace_id)
        active = await core.workspace_numbers(container, session.workspace_id)
        return core.render(
            request,
            "numbers/index.html",
            _context(
                request,
                title="Numbers",
                numbers=active,
                deleted=deleted,
                flash=exc.message,
                flash_kind="error",
            ),
            status=409,
        )
    done = "restored-reconnect" if result.requires_reconnect else "restored"
    return core.redirect(f"/numbers/{number_id}?done={done}", request)


async def _purge_target(container: Any, workspace_id: str, number_id: str) -> dict[str, Any]:
    try:
        number = await numbers.get_row(container, workspace_id, number_id)
    except errors.NotFound:
        gone = await _deleted(container, workspace_id, number_id)
        return {"id": gone.id, "name": gone.name, "number": gone.number}
    return {"id": number.id, "name": number.name, "number": number.number}


def _purge_page(
    request: Request, target: dict[str, Any], form_errors: core.FormErrors | None = None, *, status: int = 200
) -> Response:
    return core.render(
        request,
        "numbers/purge.html",
        _context(
            request, title="Delete " + target["name"] + " permanently", target=target, errors=form_errors
        ),
        status=status,
    )


@router.get("/numbers/{number_id}/purge")
async def purge_page(
    request: Request, container: ContainerDep, session: core.Session, number_id: str
) -> Response:
    return _purge_page(request, await _purge_target(container, session.workspace_id, number_id))


@router.post("/numbers/{number_id}/purge")
async def purge(
    request: Request, container: ContainerDep, session: core.FormSession, number_id: str
) -> Response:
    target = await _purge_target(container, session.workspace_id, number_id)
    typed = re.sub(r"\D", "", (await core.form_data(request)).get("confirm", ""))
    if typed != target["number"]:
        return _purge_page(
            request,
            target,
            core.FormErrors(
                "The phone number you typed does not match; nothing was deleted.",
                {"confirm": f"Type +{target['number']} to confirm"},
            ),
            status=400,
        )
    await number_changes.purge_number(container, workspace_id=session.workspace_id, number_id=number_id)
    return core.redirect("/numbers?done=purged", request)
