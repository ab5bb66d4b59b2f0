"""Evolution GO simulator: a loopback Starlette app that speaks Evolution GO v0.6's HTTP API
and posts its webhooks (providers.md section C).

API (header ``apikey``; admin routes take only the global key, the others only an instance
token; a wrong key is 401 ``{"error":"not authorized"}``; while the license gate is on, every
API route answers 503 ``LICENSE_REQUIRED`` before auth):

* ``GET    /server/ok``                      health, no auth, never gated
* ``POST   /instance/create``                admin: ``{name, token, instanceId?, advancedSettings?}``
* ``GET    /instance/all``                   admin: every instance row
* ``GET    /instance/info/{id}``             admin: one instance row
* ``DELETE /instance/delete/{id}``           admin
* ``POST   /instance/connect``               ``{webhookUrl, subscribe}``; starts the client, which
                                             posts ``QRCode`` webhooks (``count``/``maxCount``)
* ``GET    /instance/qr``                    ``{Qrcode, Code}``
* ``POST   /instance/pair``                  ``{phone}`` -> ``{PairingCode: "ABCD-EFGH"}``
* ``GET    /instance/status``                ``{Connected, LoggedIn, Name}``
* ``POST   /instance/disconnect|reconnect``, ``DELETE /instance/logout``
* ``GET|PUT /instance/{id}/advanced-settings``
* ``POST   /send/text|media|button|list|location|contact|sticker``  -> ``MessageSendStruct``
* ``POST   /message/presence|markread|react``
* ``GET    /group/list``, ``GET /newsletter/list``  the ``groups`` / ``newsletters`` config as
                                             whatsmeow structs (``GroupInfo``, ``NewsletterMetadata``)
* ``POST   /user/check``                     ``{number: [...], formatJid}`` -> ``{Users: [{Query,
                                             IsInWhatsapp, JID, ...}]}``; ``formatJid`` drops the
                                             9th digit of Brazilian mobiles in area codes 31+

After a send: a ``SendMessage`` webhook (not for button/list/react), then ``Receipt``
``Delivered`` and ``Read`` (``statusDelayMs`` apart; ``skipDelivered``/``dropRead``/
``reorder``/``duplicates`` apply). Webhooks go to the instance's ``webhookUrl`` and the global
URL, only for subscribed categories, with alphabetic keys and ``instanceToken`` inside.

Control (no auth, besides the common ``/_sim/requests|faults|config|callbacks|reset``):

* ``POST /_sim/license``                     ``{"required": bool}``: the license gate
* ``POST /_sim/instances/{name}/pair``       ``{number?, pushName?}``: the phone scanned the QR
                                             -> ``PairSuccess`` + ``Connected``
* ``POST /_sim/instances/{name}/disconnect`` ``{event: LoggedOut|Disconnected|TemporaryBan|
                                             ConnectFailure, reason?, code?, reconnectAfterMs?}``
                                             (Disconnected + reconnectAfterMs: whatsmeow's
                                             auto-reconnect, then ``Connected``)
* ``POST /_sim/inbound``                     ``{instance, from, name?, type?, text?, replyTo?,
                                             group?, groupName?, lid?, buttonId?, rowId?, emoji?,
                                             reactTo?, media?{url?, base64?, mimetype?,
                                             caption?, fileName?}}`` -> ``Message`` webhook;
                                             ``{"id"}``. ``url``: a MinIO link (``mediaUrl``)
                                             instead of the bytes; ``base64``: the bytes of
                                             ``Message.base64`` (with ``webhookFiles``)
* ``POST /_sim/media``                       ``{base64, mimetype?}`` -> ``{id, url}``: an object
                                             of the simulated MinIO bucket, served at ``url``
                                             (``GET /_sim/media/{id}``; unknown ids are 404)
* ``GET  /_sim/messages``                    messages sent and injected
* ``GET  /_sim/instances``                   instances with their simulated client state

Faults (``/_sim/faults``): ``http``/``slow``/``timeout`` as everywhere; ``error`` answers
``body`` (default ``{"error": code}``) with ``status`` (default 500): any Evolution GO error.
Config on top of the common switches: ``qrDelayMs``, ``qrIntervalMs``, ``qrMaxCount``,
``ownNumber``, ``pushName``, ``webhookFiles`` (``Message.base64`` on media webhooks), ``groups``
(``[{id, subject, size, desc?}]``), ``newsletters`` (``[{id, name, subscribers}]``).

Modules: ``state`` (instances, the simulated client, the plumbing of every call, webhooks),
``routes`` (the API), ``directory`` (groups, channels, number checks), ``control`` (``/_sim``)
and ``shapes`` (message shapes).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from zapgate.sim.common import sender_lifespan
from zapgate.sim.evolution_go.control import Control
from zapgate.sim.evolution_go.directory import Directory
from zapgate.sim.evolution_go.routes import Api
from zapgate.sim.evolution_go.state import EXTRA_DEFAULTS, EvolutionGoSim

__all__ = ["EXTRA_DEFAULTS", "EvolutionGoSim", "create_app"]


def create_app(
    *,
    api_key: str = "sim-evolution-go-key",
    global_webhook_url: str | None = None,
    license_required: bool = False,
    config: dict[str, Any] | None = None,
) -> Starlette:
    sim = EvolutionGoSim(
        api_key=api_key,
        global_webhook_url=global_webhook_url,
        license_required=license_required,
        config=config,
    )
    app = Starlette(
        routes=[*Api(sim).routes(), *Directory(sim).routes(), *Control(sim).routes()],
        lifespan=sender_lifespan(sim.sender, on_stop=sim.stop_clients),
    )
    app.state.sim = sim
    return app
