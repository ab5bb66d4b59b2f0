"""``/send``: a playground that sends any mode from a form through ``sending.accept`` (origin
``DASHBOARD``) and shows the accepted message with the equivalent ``curl`` and Python SDK call,
built from the same body. On sandbox numbers it also simulates an inbound message
(``inbound.simulate``).

The form's field names follow the API's body paths (``text``, ``buttons[0].label``, ``media``,
``caption`` ...), so the service's ``details[].field`` lands next to the right input; the few
that differ are mapped in :func:`_send_errors`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import sendrequest
from zapgate.services import inbound, sending, templates
from zapgate.web import errors as web_errors
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep
from zapgate.web.views import sandbox as sandbox_views

router = core.page_router()

Form = Mapping[str, str]

MODES = (
    ("text", "Text"),
    ("buttons", "Text with buttons"),
    ("media", "Media"),
    ("template", "Template"),
    ("list", "List"),
)
DESTINATIONS = (("phone", "Phone number"), ("group", "Group"), ("newsletter", "Channel (newsletter)"))
DESTINATION_KEYS = {"phone": "destinationNumber", "group": "groupId", "newsletter": "newsletterId"}
BUTTON_SLOTS = 3


# --- the form -> the API body ----------------------------------------------------------------------


def _text(form: Form) -> dict[str, Any]:
    return {"text": form.get("text", "")}


def _buttons(form: Form) -> dict[str, Any]:
    labels = [form.get(f"buttons[{i}].label", "") for i in range(BUTTON_SLOTS)]
    while labels and not labels[-1].strip():  # trailing blanks are unused slots; gaps stay
        labels.pop()
    body: dict[str, Any] = {"text": form.get("text", "")}
    if labels:
        body["buttons"] = [{"type": "reply", "label": label} for label in labels]
    if form.get("footer", "").strip():
        body["footer"] = form["footer"]
    return body


def _media(form: Form) -> dict[str, Any]:
    body = {"media": form.get("media", "").strip(), "mediaType": form.get("mediaType", "image")}
    for key in ("caption", "fileName"):
        if form.get(key, "").strip():
            body[key] = form[key]
    return body


def _template(form: Form) -> dict[str, Any]:
    variables = {k.removeprefix("variables."): v for k, v in form.items() if k.startswith("variables.")}
    return {"templateId": form.get("templateId", ""), "variables": variables}


def _row(index: int, line: str) -> dict[str, str]:
    title, _, description = line.partition("|")
    row = {"rowId": f"row-{index + 1}", "title": title.strip()}
    if description.strip():
        row["description"] = description.strip()
    return row


def _list(form: Form) -> dict[str, Any]:
    lines = [line for line in form.get("list.rows", "").splitlines() if line.strip()]
    section = {
        "title": form.get("list.sectionTitle", "").strip(),
        "rows": [_row(i, line) for i, line in enumerate(lines)],
    }
    return {
        "text": form.get("text", ""),
        "list": {"buttonText": form.get("list.buttonText", "").strip(), "sections": [section]},
    }


BUILDERS: dict[str, Callable[[Form], dict[str, Any]]] = {
    "text": _text,
    "buttons": _buttons,
    "media": _media,
    "template": _template,
    "list": _list,
}


def build_body(form: Form) -> dict[str, Any]:
    """The ``POST /v1/messages/send`` body the form describes."""
    key = DESTINATION_KEYS.get(form.get("destinationKind", ""), "destinationNumber")
    build = BUILDERS.get(form.get("mode", ""), _text)
    return {key: form.get("destination", "").strip(), **build(form)}


# --- the same body as code ------------------------------------------------------------------------


def curl_snippet(base_url: str, body: dict[str, Any]) -> str:
    data = json.dumps(body, ensure_ascii=False, indent=2).replace("'", "'\\''")
    return (
        f"curl -s {base_url}/v1/messages/send \\\n"
        '  -H "x-api-key: $ZAPGATE_NUMBER_KEY" \\\n'
        "  -H 'content-type: application/json' \\\n"
        f"  -d '{data}'"
    )


SDK_SNIPPET = """import os
import urllib.request

from pilot_status import PilotStatusClient

ZAPGATE_URL = {base_url}


def zapgate(req, timeout):
    # The SDK's base URL is fixed: send its requests to Zapgate instead.
    url = req.full_url.replace("https://pilotstatus.com.br", ZAPGATE_URL, 1)
    local = urllib.request.Request(url, data=req.data, method=req.get_method(),
                                   headers=dict(req.header_items()))
    with urllib.request.urlopen(local, timeout=timeout) as res:
        return res.status, {{k.lower(): v for k, v in res.headers.items()}}, res.read().decode()


client = PilotStatusClient(api_key=os.environ["ZAPGATE_NUMBER_KEY"], transport=zapgate)
{note}sent = client.messages.send({body})
print(sent["id"], sent["status"])
"""
# Fields the installed SDK's messages.send() does not copy into its request.
SDK_DROPS = ("caption", "fileName")


def python_snippet(base_url: str, body: dict[str, Any]) -> str:
    dropped = [k for k in SDK_DROPS if k in body]
    note = (
        (f"# This SDK version does not send {' and '.join(dropped)}: use the HTTP request for them.\n")
        if dropped
        else ""
    )
    # Every value is a str, list or dict, so the JSON text is also a Python literal.
    literal = json.dumps(body, ensure_ascii=False, indent=4)
    return SDK_SNIPPET.format(base_url=json.dumps(base_url), note=note, body=literal)


# --- service errors -> the fields they concern ------------------------------------------------------

FIELD_ALIASES = {
    "destinationNumber": "destination",
    "groupId": "destination",
    "newsletterId": "destination",
    "templateId|text|media": "mode",
}
CODE_FIELDS = {
    "NOT_SUPPORTED_FOR_META": "destination",
    "MODE_NOT_SUPPORTED": "mode",
    "MEDIA_BASE64_NOT_SUPPORTED": "media",
    "SUBSCRIPTION_REQUIRED_FOR_MEDIA": "media",
    "TEMPLATE_NOT_FOUND": "templateId",
    "TEMPLATE_NOT_APPROVED": "templateId",
}


def _send_errors(exc: errors.ZapgateError) -> core.FormErrors:
    found = core.FormErrors.of(exc)
    fields = {FIELD_ALIASES.get(k, k): m for k, m in found.fields.items()}
    if exc.code in CODE_FIELDS:
        fields.setdefault(CODE_FIELDS[exc.code], exc.message)
    details = exc.extra.get("details")  # MISSING_TEMPLATE_VARIABLES: {"missing": [names]}
    missing = details.get("missing") if isinstance(details, dict) else None
    for name in missing if isinstance(missing, list) else []:
        fields.setdefault(f"variables.{name}", "required")
    return core.FormErrors(found.message, fields)


def _inbound_errors(exc: errors.ZapgateError) -> core.FormErrors:
    found = core.FormErrors.of(exc)
    return core.FormErrors(found.message, {"in_" + k: m for k, m in found.fields.items()})


# --- pages -------------------------------------------------------------------------------------------


def _own_number(numbers: list[Any], wanted: str | None) -> Any:
    """The number a POST names: one of the workspace's own, never a default."""
    current = core.pick_number(numbers, wanted) if wanted else None
    if current is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return current


async def _page(
    request: Request,
    container: Container,
    numbers: list[Any],
    current: Any,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    number_templates = (
        [] if current is None else await templates.list_templates(container, number_id=current.id)
    )
    values = context.get("values") or {}
    wanted = values.get("templateId")
    chosen = next(
        (t for t in number_templates if t.template.id == wanted),
        number_templates[0] if number_templates else None,
    )
    return core.render(
        request,
        "send/index.html",
        {
            "title": "Send",
            "numbers": numbers,
            "current": current,
            "modes": MODES,
            "destinations": DESTINATIONS,
            "media_types": [(m, m) for m in sendrequest.MEDIA_TYPES],
            "template_options": [(t.template.id, t.template.name) for t in number_templates],
            "button_slots": BUTTON_SLOTS,
            "templates": number_templates,
            "template": chosen,
            "sandbox": current is not None and container.providers.features(current.provider).simulated,
            **context,
            "values": values,
        },
        status=status,
    )


@router.get("/send")
async def page(request: Request, container: ContainerDep, session: core.Session) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = core.pick_number(numbers, request.query_params.get("number"))
    return await _page(request, container, numbers, current, {})


@router.post("/send")
async def send(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    form = await core.form_data(request)
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = _own_number(numbers, form.get("number"))
    body = build_body(form)
    try:
        accepted = await sending.accept(
            container,
            workspace_id=session.workspace_id,
            number_id=current.id,
            body=body,
            idempotency_key=None,
            origin="DASHBOARD",
        )
    except errors.ZapgateError as exc:
        return await _page(
            request,
            container,
            numbers,
            current,
            {"values": form, "errors": _send_errors(exc)},
            status=web_errors.status_of(exc),
        )
    base_url = container.settings.public_url.rstrip("/")
    return await _page(
        request,
        container,
        numbers,
        current,
        {
            "values": form,
            "sent": accepted,
            "curl": curl_snippet(base_url, body),
            "python": python_snippet(base_url, body),
        },
    )


@router.get("/send/template-variables")
async def template_variables(request: Request, container: ContainerDep, session: core.Session) -> Response:
    """The variable inputs of one template (HTMX swaps them in when the template changes)."""
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = _own_number(numbers, request.query_params.get("number"))
    template = await templates.get(
        container, number_id=current.id, ref=request.query_params.get("templateId", "")
    )
    return core.render(request, "send/_variables.html", {"template": template, "values": {}, "errors": None})


@router.post("/send/simulate-inbound")
async def simulate_inbound(request: Request, container: ContainerDep, session: core.FormSession) -> Response:
    form = await core.form_data(request)
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = _own_number(numbers, form.get("number"))
    body = {"from": form.get("in_from", ""), "text": form.get("in_text", "")}
    if form.get("in_name", "").strip():
        body["name"] = form["in_name"].strip()
    context: dict[str, Any] = {"inbound_values": form}
    try:
        simulated = sandbox_views.simulated_inbound(body)
        context["received"] = await inbound.simulate(container, number_id=current.id, inbound=simulated)
    except errors.ZapgateError as exc:
        context["inbound_errors"] = _inbound_errors(exc)
        return await _page(request, container, numbers, current, context, status=web_errors.status_of(exc))
    return await _page(request, container, numbers, current, context)
