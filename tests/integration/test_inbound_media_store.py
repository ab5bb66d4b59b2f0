"""Zapgate's own store of inbound media (``inbound_media``): Evolution GO and the sandbox hand
the bytes over with the message (or, GO with MinIO, a link to them); the customer webhook names
them by ``mediaId`` + ``phoneNumberId`` and ``GET /v1/media/{mediaId}`` answers them, under the
number's PII mode. Evolution GO through its simulator over loopback, on a real database."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tests.conftest import wait_until
from tests.contract.worlds import World, connect_number, make_world
from tests.helpers import assert_error, with_container
from zapgate.domain.inbound import SimulatedInbound, SimulatedMedia
from zapgate.services import inbound
from zapgate.settings import Settings
from zapgate.storage import tables as t

__all__ = ["make_world"]  # the fixture, used here

CONTACT = "+5511988887777"
PHOTO = b"\x89PNG\r\n\x1a\n zapgate inbound photo"
DAY_MS = 86_400_000


# -- helpers ----------------------------------------------------------------------------------


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def _go_inbound(world: World, media: dict[str, Any], *, instance: str | None = None) -> dict[str, Any]:
    """A contact sends an image to the GO number; the data of its ``message.received``."""
    sent = world.control(
        "POST",
        "/_sim/inbound",
        {
            "instance": instance or world.instance,
            "from": CONTACT.lstrip("+"),
            "type": "image",
            "name": "Ana",
            "media": media,
        },
    )
    [hook] = world.wait_events(
        lambda e: e["event"] == "message.received" and e["data"]["messageId"] == sent["id"]
    )
    return dict(hook["data"])


def _bucket(world: World, content: bytes, mimetype: str = "image/png") -> str:
    """An object of the simulated MinIO bucket; its presigned-like URL."""
    return str(world.control("POST", "/_sim/media", {"base64": _b64(content), "mimetype": mimetype})["url"])


def _download(world: World, media_id: str, phone_number_id: str, key: str | None = None) -> Any:
    return world.api.get(f"/v1/media/{media_id}", key or world.key, params={"phoneNumberId": phone_number_id})


def _kept(settings: Settings, number_id: str) -> list[Any]:
    async def load(c: Any) -> list[Any]:
        async with c.db.read() as conn:
            query = sa.select(t.inbound_media).where(t.inbound_media.c.number_id == number_id)
            return list((await conn.execute(query)).all())

    return with_container(settings, load)


def _age_media(settings: Settings, number_id: str, media_id: str, days: int) -> None:
    async def run(c: Any) -> None:
        async with c.db.write() as conn:
            await conn.execute(
                sa.update(t.inbound_media)
                .where(t.inbound_media.c.number_id == number_id, t.inbound_media.c.media_id == media_id)
                .values(created_at=t.inbound_media.c.created_at - days * DAY_MS)
            )

    with_container(settings, run)


def _set_mode(world: World, mode: str, days: int | None = None) -> None:
    body: dict[str, Any] = {"piiMode": mode}
    if days is not None:
        body["piiRetentionDays"] = days
    r = world.api.patch(f"/v1/numbers/{world.number['id']}", world.tenant["key"], json=body)
    assert r.status_code == 200, r.text


# -- Evolution GO: the bytes in the webhook ----------------------------------------------------


def test_go_media_from_the_webhook_is_downloaded_as_sent(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    data = _go_inbound(world, {"base64": _b64(PHOTO), "mimetype": "image/png", "caption": "olha"})
    assert data["mediaId"] == data["messageId"] and data["phoneNumberId"] == world.number["id"]
    assert data["mediaType"] == "image/png" and data["content"] == "olha"
    r = _download(world, data["mediaId"], data["phoneNumberId"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "base64": "data:image/png;base64," + _b64(PHOTO),
        "mimeType": "image/png",
        "fileName": None,
        "mediaId": data["mediaId"],
    }
    # The SDK reads the same; the conversation history names the media by the same id.
    assert world.sdk().media.download(data["mediaId"], data["phoneNumberId"])["base64"] == r.json()["base64"]
    history = world.api.get("/v1/messages/history", world.key).json()["messages"]
    [media] = [m["media"] for m in history if m.get("media")]
    assert media["id"] == data["mediaId"] and media["provider"] == "EVO_GO"


def test_go_unknown_and_malformed_asks(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    data = _go_inbound(world, {"base64": _b64(PHOTO)})
    assert_error(_download(world, "3AUNKNOWN", world.number["id"]), 404, "MEDIA_NOT_FOUND")
    # The instance name is the number's provider reference: it names it too.
    assert _download(world, data["mediaId"], world.instance).status_code == 200
    assert_error(world.api.get(f"/v1/media/{data['mediaId']}", world.key), 400, "VALIDATION_ERROR")
    assert_error(_download(world, data["mediaId"], "wn_other"), 400, "VALIDATION_ERROR")


def test_another_numbers_media_is_not_found(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    data = _go_inbound(world, {"base64": _b64(PHOTO)})
    other = connect_number("evolution-go", world.api, world.tenant["key"], world.sim, "+5511977776666")
    # Its own key and id: the other number's media id is unknown to it.
    assert_error(_download(world, data["mediaId"], other["id"], key=other["key"]), 404, "MEDIA_NOT_FOUND")
    # Its own key cannot name the first number either.
    assert_error(
        _download(world, data["mediaId"], world.number["id"], key=other["key"]), 400, "VALIDATION_ERROR"
    )


def test_go_media_past_the_limit_is_not_kept_and_answers_413(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go", media_max_bytes=len(PHOTO) - 1)
    data = _go_inbound(world, {"base64": _b64(PHOTO)})
    assert_error(_download(world, data["mediaId"], data["phoneNumberId"]), 413, "MEDIA_TOO_LARGE")
    [row] = _kept(world_settings(world), world.number["id"])
    assert row.content is None and row.url is None and row.size == len(PHOTO)
    exact = make_world("evolution-go", media_max_bytes=len(PHOTO))
    data = _go_inbound(exact, {"base64": _b64(PHOTO)})
    assert _download(exact, data["mediaId"], data["phoneNumberId"]).status_code == 200


# -- Evolution GO with MinIO: a link in the webhook ----------------------------------------------


def test_go_media_by_link_is_read_from_the_link(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    url = _bucket(world, PHOTO, mimetype="binary/octet-stream")
    data = _go_inbound(world, {"url": url, "mimetype": "image/png", "caption": "link"})
    assert data["mediaLink"] == url and data["mediaId"] == data["messageId"]
    r = _download(world, data["mediaId"], data["phoneNumberId"])
    assert r.status_code == 200, r.text
    # The webhook's mime type, not the bucket's.
    assert r.json()["base64"] == "data:image/png;base64," + _b64(PHOTO)
    [row] = _kept(world_settings(world), world.number["id"])
    assert row.content is None and row.url == url
    # Read on demand: every download asks the link again.
    assert _download(world, data["mediaId"], data["phoneNumberId"]).json() == r.json()


def test_go_media_link_gone_or_too_large(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go", media_max_bytes=64)
    assert world.sim is not None
    expired = _go_inbound(world, {"url": world.sim.url + "/_sim/media/objGONE"})
    assert_error(_download(world, expired["mediaId"], expired["phoneNumberId"]), 404, "MEDIA_NOT_FOUND")
    big = _go_inbound(world, {"url": _bucket(world, b"x" * 65)})
    assert_error(_download(world, big["mediaId"], big["phoneNumberId"]), 413, "MEDIA_TOO_LARGE")


# -- the number's PII mode -----------------------------------------------------------------------


def test_relay_only_numbers_keep_no_media(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    _set_mode(world, "RELAY_ONLY")
    data = _go_inbound(world, {"base64": _b64(PHOTO), "mimetype": "image/png"})
    assert "mediaId" not in data and data["mediaType"] == "image/png"  # the webhook still tells
    assert _kept(world_settings(world), world.number["id"]) == []
    assert_error(_download(world, data["messageId"], world.number["id"]), 404, "MEDIA_NOT_FOUND")


def test_kept_media_go_past_the_retention_window(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    settings = world_settings(world)
    _set_mode(world, "STORE_X_DAYS", days=2)
    old = _go_inbound(world, {"base64": _b64(PHOTO)})
    recent = _go_inbound(world, {"base64": _b64(PHOTO)})
    _age_media(settings, world.number["id"], old["mediaId"], days=3)
    wait_until(lambda: len(_kept(settings, world.number["id"])) == 1)
    [row] = _kept(settings, world.number["id"])
    assert row.media_id == recent["mediaId"]
    assert_error(_download(world, old["mediaId"], old["phoneNumberId"]), 404, "MEDIA_NOT_FOUND")
    assert _download(world, recent["mediaId"], recent["phoneNumberId"]).status_code == 200
    # Switching to RELAY_ONLY removes what was kept, whatever its age.
    _set_mode(world, "RELAY_ONLY")
    wait_until(lambda: _kept(settings, world.number["id"]) == [])


def test_purging_the_number_removes_its_media(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-go")
    _go_inbound(world, {"base64": _b64(PHOTO)})
    settings = world_settings(world)
    assert len(_kept(settings, world.number["id"])) == 1
    r = world.api.delete(f"/v1/numbers/{world.number['id']}/purge", world.tenant["key"])
    assert r.status_code == 200, r.text
    assert _kept(settings, world.number["id"]) == []


# -- the sandbox ---------------------------------------------------------------------------------


def test_sandbox_simulated_media_is_downloadable(make_world: Callable[..., World]) -> None:
    world = make_world("sandbox")
    number_id = world.number["id"]
    body = {
        "from": CONTACT,
        "text": "o recibo",
        "name": "Ana",
        "media": {
            "base64": "data:application/pdf;base64," + _b64(b"%PDF-1.4 recibo"),
            "mimeType": "application/pdf",
            "fileName": "recibo.pdf",
        },
    }
    simulated = world.api.post("/v1/sandbox/inbound", world.key, json=body)
    assert simulated.status_code == 200, simulated.text
    received = simulated.json()
    [hook] = world.wait_events(lambda e: e["data"].get("id") == received["id"])
    data = hook["data"]
    assert data["mediaId"] == received["messageId"] and data["phoneNumberId"] == number_id
    assert data["mediaFilename"] == "recibo.pdf" and data["type"] == "document"
    r = _download(world, data["mediaId"], number_id)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "base64": "data:application/pdf;base64," + _b64(b"%PDF-1.4 recibo"),
        "mimeType": "application/pdf",
        "fileName": "recibo.pdf",
        "mediaId": data["mediaId"],
    }
    # Media the sandbox never kept is unknown, not unsupported.
    assert_error(_download(world, "sbx_in_unknown", number_id), 404, "MEDIA_NOT_FOUND")
    # A media object without its bytes is a clear 400.
    bad = world.api.post("/v1/sandbox/inbound", world.key, json={**body, "media": {"mimeType": "image/png"}})
    assert_error(bad, 400, "VALIDATION_ERROR")


def test_the_service_keeps_simulated_media_too(make_world: Callable[..., World]) -> None:
    """The dashboard's inbound simulation calls the service with a ``SimulatedInbound``."""
    world = make_world("sandbox")
    number_id = world.number["id"]
    simulated = SimulatedInbound(
        sender=CONTACT, text="", media=SimulatedMedia(base64=_b64(b"\x89PNG"), mime_type="image/png")
    )
    received = with_container(
        world_settings(world), lambda c: inbound.simulate(c, number_id=number_id, inbound=simulated)
    )
    [hook] = world.wait_events(lambda e: e["data"].get("id") == received.id)
    assert hook["data"]["type"] == "image"
    r = _download(world, hook["data"]["mediaId"], number_id)
    assert r.status_code == 200 and r.json()["base64"] == "data:image/png;base64," + _b64(b"\x89PNG")


def world_settings(world: World) -> Settings:
    """The settings of the world's server (its database)."""
    return world.server.settings
