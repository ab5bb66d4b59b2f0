"""Evolution API v2 simulator (Baileys flavour, v2.3.x wire format; providers.md section B).

API (``apikey`` header: the global key on every route, or an instance's token on its own
routes; an unknown instance is 404 before the key is checked):

* ``POST   /instance/create``                  global key; 201 ``{instance, hash, webhook, settings,
                                                 qrcode?}``; 403 name in use
* ``GET    /instance/connect/{i}[?number=]``   QR object ``{pairingCode, code, base64, count}``, or
                                                 ``{instance: {instanceName, state: "open"}}``
* ``GET    /instance/connectionState/{i}``     ``{instance: {instanceName, state}}``
* ``DELETE /instance/logout/{i}``              400 when already closed
* ``DELETE /instance/delete/{i}``
* ``POST   /webhook/set/{i}`` (201), ``GET /webhook/find/{i}``
* ``POST   /message/{op}/{i}`` (201)           op: sendText, sendMedia, sendWhatsAppAudio,
                                                 sendSticker, sendButtons, sendList, sendReaction,
                                                 sendLocation — body validation as Evolution's JSON
                                                 schemas, the not-on-WhatsApp 400, "Connection
                                                 Closed" 500 unless the instance is ``open``
* ``POST   /chat/markMessageAsRead/{i}`` (201), ``POST /chat/sendPresence/{i}`` (201, blocks
  for ``delay`` ms)
* ``POST   /chat/whatsappNumbers/{i}`` (200)   ``[{jid, exists, number}]``: ``jid`` follows
                                                WhatsApp's Brazilian 9th-digit rule
* ``GET    /group/fetchAllGroups/{i}?getParticipants=``  the ``groups`` config (400 without the
                                                query parameter, 500 unless ``open``)
* ``POST   /chat/getBase64FromMediaMessage/{i}`` (201)  ``{message: {key: {id}}}``: the media
                                                of an injected inbound message; 400 "Message
                                                not found" for any other id

Errors use Evolution's envelope ``{"status", "error", "response": {"message": [...]}}`` (a
string ``message`` for 401 and for 500 "Connection Closed"). After each send: ``send.message``
at once, then ``messages.update`` SERVER_ACK -> DELIVERY_ACK -> READ (-> PLAYED for voice notes)
``statusDelayMs`` apart, with the common skip/drop/reorder/duplicate switches; recipients in
``errorRecipients`` get one ``ERROR`` instead.

Webhooks: the envelope ``{event, instance, data, destination, date_time, sender, server_url,
apikey}`` goes to the instance webhook (its ``headers`` as HTTP headers, ``jwt_key`` turned into
an HS256 bearer token, ``/<event-name>`` appended when ``byEvents``; only subscribed events, all
when ``events`` is empty) and to the global URL when set. Retries come from ``CallbackSender``.

Control API (besides the common ``/_sim/requests|faults|config|callbacks|reset``):

* ``POST /_sim/instances/{name}/pair``        ``{number?, profileName?}``: the QR was scanned ->
                                                ``open`` + ``connection.update`` open
* ``POST /_sim/instances/{name}/disconnect``  ``{reason?: 401}``: -> ``close`` +
                                                ``connection.update`` close (``logout.instance``
                                                too for 401)
* ``POST /_sim/instances/{name}/qr``          a new QR (``qrcode.updated``); past ``qrcodeLimit``
                                                the instance is ``refused``
* ``POST /_sim/inbound``                      ``{instance, from, name?, text?, type: text|image|
                                                audio|video|document|buttonReply|listReply|reaction,
                                                replyTo?, group?, lid?, buttonId?, buttonStyle?:
                                                native|classic|template, rowId?, emoji?, reactTo?,
                                                media?: {url?, mimetype?, caption?, fileName?,
                                                base64?}}`` -> ``messages.upsert``; ``{"id"}``
* ``GET  /_sim/messages[?instance=]``         sent messages: ``{id, instance, endpoint, body,
                                                response, statuses}``
* ``GET  /_sim/instances``                    every instance with its token, state and webhook

Faults (``/_sim/faults``) apply to every API route: ``http`` / ``slow`` / ``timeout`` as usual;
``error`` returns ``body`` (any Evolution envelope) with ``status`` (default 400).

Extra config switches: ``errorRecipients`` (digits), ``qrcodeLimit`` (30),
``exposeInstanceToken`` (true: the envelope's ``apikey`` is the instance token, else null),
``globalWebhookByEvents`` (false), ``groups`` (``[{id, subject, size}]``).

Simplifications: no Brazilian 9th-digit rewriting on sends, groups are assumed to exist, ``http(s)`` is
required for media URLs, and the native-flow button reply shape is proto-derived [verify].

Modules: ``state`` (instances, webhooks, the plumbing of every call), ``routes`` (the API),
``directory`` (groups, number checks, inbound media), ``control`` (``/_sim``), ``validate``
(body schemas) and ``shapes`` (message shapes).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from zapgate.sim.common import sender_lifespan
from zapgate.sim.evolution_v2.control import Control
from zapgate.sim.evolution_v2.directory import Directory
from zapgate.sim.evolution_v2.routes import Api
from zapgate.sim.evolution_v2.state import EXTRA_DEFAULTS, EvolutionSim, error, jid_for
from zapgate.sim.evolution_v2.validate import is_base64

__all__ = ["EXTRA_DEFAULTS", "EvolutionSim", "create_app", "is_base64", "jid_for"]


def create_app(
    *,
    api_key: str = "sim-evolution-key",
    global_webhook_url: str | None = None,
    server_url: str = "http://127.0.0.1",
    config: dict[str, Any] | None = None,
) -> Starlette:
    sim = EvolutionSim(
        api_key=api_key, global_webhook_url=global_webhook_url, server_url=server_url, config=config
    )

    async def not_found(request: Request, _: Exception) -> Response:
        # Express answers unknown routes (and wrong methods) with this 404.
        return error(404, [f"Cannot {request.method} {request.url.path}"])

    app = Starlette(
        routes=[*Api(sim).routes(), *Directory(sim).routes(), *Control(sim).routes()],
        lifespan=sender_lifespan(sim.sender),
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.sim = sim
    return app
