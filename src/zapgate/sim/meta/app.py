"""Loopback simulator of the Meta WhatsApp Cloud API (Graph API), providers.md section A.

``create_app(callback_url=..., app_secret=..., numbers=..., config=...)`` returns a Starlette app.
Without ``numbers`` it serves ``DEFAULT_NUMBER``: phone number id ``100000000000001``, WABA
``200000000000001``, token ``sim-meta-token``, display number ``15550000001``.

Graph routes (``{v}`` is any ``v<major>.<minor>``; every call needs ``Authorization: Bearer
<token>`` or ``?access_token=``; an unknown token answers 401 code 190, an object the token
cannot reach answers 400 code 100 subcode 33; errors use the Graph envelope
``{"error": {"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"}}``):

* ``POST   /{v}/{phone-number-id}/messages``  send text, image, video, audio, document, sticker,
  location, contacts, interactive (button, list, cta_url), template or reaction. 200 =
  ``{"messaging_product", "contacts": [{"input": <to verbatim>, "wa_id"}], "messages": [{"id":
  "wamid...", "message_status"?}]}`` (``message_status`` on template sends only). The same route
  takes the read receipt ``{"messaging_product", "status": "read", "message_id",
  "typing_indicator"?: {"type": "text"}}`` -> ``{"success": true}``; the id must be an inbound
  message of that number.
  Synchronous errors: 100 / 131008 / 131009 validation (see ``validate``), 132001 template
  missing or not APPROVED (132015 PAUSED, 132016 DISABLED), 132000 parameter count, 132012
  named-vs-positional or parameter type, 131021 recipient is the sender, 130429 throughput
  (``mps``), 131056 pair rate (``pairBurst``, ``pairRatePerSecond``), 131047 when
  ``windowErrorSync``.
  After a 200 the statuses arrive by webhook, ``statusDelayMs`` apart: ``sent`` (with
  ``conversation`` + ``pricing``, ``pricing_model`` "PMP") -> ``delivered`` -> ``read`` (->
  ``played`` for ``audio.voice``), shaped by the common switches ``skipDelivered``, ``dropRead``,
  ``reorder``, ``duplicates``; or a single ``failed`` with ``errors[]``: 131026 recipient in
  ``unknownRecipients``, 131047 free-form (not template/reaction) outside the 24 h window,
  131053 a media ``id`` that is not in the media store, or the code of an ``async_error`` fault.
  ``biz_opaque_callback_data`` is echoed on every status.
* ``POST   /{v}/{phone-number-id}/media``     multipart ``file`` + ``type`` + ``messaging_product``
  -> ``{"id": "<digits>"}`` (unsupported type or size: 131053).
* ``GET    /{v}/{media-id}``                  ``{"messaging_product", "url", "mime_type", "sha256",
  "file_size", "id"}``; ``url`` points at ``GET /whatsapp_business/attachments/?mid&ext&hash``
  on this server, which needs the bearer token and expires after ``mediaUrlTtlSeconds``.
* ``DELETE /{v}/{media-id}``                  ``{"success": true}``.
* ``GET    /{v}/{phone-number-id}``           ``{"display_phone_number", "verified_name",
  "quality_rating": "GREEN", "id"}``.
* ``POST   /{v}/{waba-id}/message_templates`` create -> ``{"id", "status": "PENDING",
  "category"}`` (duplicate name+language: 100 subcode 2388024).
* ``GET    /{v}/{waba-id}/message_templates`` list, filters ``name`` (substring), ``status``,
  ``category``, ``language``, ``fields``, ``limit``, ``after`` -> ``{"data", "paging"}``.
* ``DELETE /{v}/{waba-id}/message_templates?name=..[&hsm_id=..]`` -> ``{"success": true}``.
* ``GET    /{v}/{template-id}`` one template; ``POST /{v}/{template-id}`` edit (components /
  category; APPROVED, REJECTED or PAUSED only; goes back to PENDING).

Webhooks: every POST to the callback URL carries ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256
(app secret of the number, else the app-level secret, exact body bytes)>``; bodies are compact
JSON with non-ASCII escaped (``\\uXXXX``), ``timestamp`` values are strings of unix seconds.
Envelope: ``{"object": "whatsapp_business_account", "entry": [{"id": <waba id>, "changes":
[{"value": {"messaging_product", "metadata": {"display_phone_number", "phone_number_id"},
"statuses" | "contacts" + "messages"}, "field": "messages"}]}]}``. Failed deliveries are retried
(``callbackRetrySeconds``, ``callbackMaxAttempts``). Webhooks are posted one at a time unless
``callbackConcurrency`` (common switch, default 1) allows more in flight, as the real Cloud API
does; then a message's statuses, each in its own POST, may be answered out of order. With
``batchStatuses`` the statuses due in the same ``statusDelayMs`` tick go out in one POST per
number, so a bulk run needs a few POSTs per tick rather than one per status, and
``callbackConcurrency`` lets those POSTs overlap.

Control routes (``zapgate.sim.common``): ``GET /_sim/requests``, ``POST /_sim/faults``,
``GET|POST /_sim/config``, ``GET /_sim/callbacks``, ``POST /_sim/reset`` (also forgets media,
templates, windows, rate buckets and messages; numbers and the callback URL stay). Faults match
on ``path`` substring and ``to``: ``http`` / ``slow`` / ``timeout`` as in common; ``error`` with a
Meta ``code`` answers that code's Graph error (HTTP status from the A.5 table unless ``status``
is given); ``async_error`` with a ``code`` answers 200 and later sends ``failed`` with that code.

Meta control routes:

* ``GET|POST /_sim/numbers``   register ``{phoneNumberId, wabaId, accessToken,
  displayPhoneNumber, verifiedName, appSecret?}``; GET lists the numbers (no tokens).
* ``POST /_sim/inbound``       inject an inbound message ``{phoneNumberId?, from, name?, type:
  text|image|audio|video|document|sticker|button|interactive_button|interactive_list|reaction|
  location|unsupported|system, text?, replyTo? (our wamid -> context), buttonId?, buttonTitle?,
  description?, emoji?, reactTo?, media?: {id?, mimeType?, caption?, filename?, voice?},
  location?: {...}, referral?: {...}, newWaId? (system)}`` -> ``{"id": "wamid...", "posted",
  "mediaId"}``; posts a ``messages`` webhook with ``contacts[]`` and opens the 24 h window;
  inbound media is put in the media store. ``GET`` lists injected messages with
  ``readByBusiness`` / ``typingIndicator``.
* ``POST /_sim/templates/{template-id or name}/status`` ``{"event": "APPROVED" | "REJECTED" |
  "PAUSED" | "DISABLED" | ..., "reason"?}`` -> updates the template and posts a
  ``message_template_status_update`` webhook (``entry[].id`` = WABA id).
* ``GET  /_sim/messages``      sent messages (``?id=``, ``?to=``): ``{id, phoneNumberId, to, waId,
  type, request, failure, statuses: [{status, timestamp, posted, attempts, httpStatus,
  postedAt}], at}`` (``postedAt``: unix seconds when the callback carrying the status was
  first posted; ``at``: unix seconds when the send was accepted, after any ``slow`` fault).
  Sends refused with an error (130429, 131056, ...) are not listed: ``/_sim/requests`` has them.
* ``POST /_sim/windows``       ``{phoneNumberId?, user, openedAt? (unix s), open?: false}`` open,
  back-date or close a customer-service window without an inbound message.
* ``POST /_sim/verify``        ``{"verifyToken", "url"?}`` -> runs the ``hub.mode=subscribe``
  GET handshake against the callback URL -> ``{"ok", "status", "echoed"}``.
* ``GET|POST /_sim/callback``  ``{"url": ...}`` read / change the callback target.

Meta config switches (``/_sim/config``, on top of the common ones; defaults in
``META_DEFAULTS``): ``mps`` (80), ``pairBurst`` (45), ``pairRatePerSecond`` (1/6),
``enforceWindow`` (true), ``windowSeconds`` (86400), ``windowErrorSync`` (false),
``batchStatuses`` (false), ``templateMessageStatus`` ("accepted"), ``waIdOverrides`` ({input
digits: wa_id}), ``mediaUrlTtlSeconds`` (300). ``async_error`` faults only act on ``/messages``
(elsewhere they are used up without effect).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

from zapgate.sim.common import CallbackSender, SimState, control_routes
from zapgate.sim.meta.control import Control
from zapgate.sim.meta.delivery import Delivery, MetaContext
from zapgate.sim.meta.graph import GraphApi
from zapgate.sim.meta.state import DEFAULT_NUMBER, META_DEFAULTS, MetaState, SimNumber

__all__ = ["DEFAULT_NUMBER", "META_DEFAULTS", "SimNumber", "create_app"]


def create_app(
    *,
    callback_url: str | None = None,
    app_secret: str = "sim-app-secret",  # noqa: S107 - the simulator's own default
    numbers: list[SimNumber] | None = None,
    config: dict[str, Any] | None = None,
) -> Starlette:
    """``config`` overrides the switches' defaults (``/_sim/reset`` returns to them)."""
    sim = SimState(extra_defaults=dict(META_DEFAULTS))
    unknown = sorted(set(config or {}) - set(sim.defaults()))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}")
    sim = SimState(extra_defaults={**META_DEFAULTS, **(config or {})})
    served = [DEFAULT_NUMBER] if numbers is None else numbers
    meta = MetaState(
        numbers={n.phone_number_id: n for n in served}, app_secret=app_secret, callback_url=callback_url
    )
    sender = CallbackSender(sim)
    delivery = Delivery(sim=sim, meta=meta, sender=sender)
    ctx = MetaContext(sim=sim, meta=meta, delivery=delivery)

    def on_reset() -> None:
        meta.clear()
        delivery.clear()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sender.start()
        await delivery.start()
        try:
            yield
        finally:
            await delivery.stop()
            await sender.stop()

    routes = [*control_routes(sim, on_reset=on_reset), *Control(ctx).routes(), *GraphApi(ctx).routes()]
    return Starlette(routes=routes, lifespan=lifespan)
