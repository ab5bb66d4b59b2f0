"""Media of inbound messages (``GET /v1/media/{mediaId}``), fetched from the number's provider
on demand (its ``MediaSource`` role) and cut at ``media_max_bytes``."""

from __future__ import annotations

from zapgate import errors
from zapgate.container import Container
from zapgate.providers.base import DownloadedMedia
from zapgate.services import credentials


async def download(
    container: Container, *, workspace_id: str, number_id: str, media_id: str, phone_number_id: str | None
) -> DownloadedMedia:
    """``phone_number_id`` names the number the media came to: Meta's phone number id, or
    Zapgate's number id; it must be the key's number."""
    number = await container.repos.numbers.get(workspace_id, number_id)
    if number is None:
        raise errors.NotFound("WhatsApp number not found", code="NUMBER_NOT_FOUND")
    if not phone_number_id:
        raise errors.ValidationFailed(
            "phoneNumberId is required (the phoneNumberId of the webhook that carried the mediaId)",
            details=[{"field": "phoneNumberId", "message": "required"}],
        )
    if phone_number_id not in (number.provider_ref, number.id):
        raise errors.ValidationFailed(
            "phoneNumberId does not name the number of this key",
            details=[{"field": "phoneNumberId", "message": "not this key's number"}],
        )
    if not media_id or len(media_id) > 256:
        raise errors.NotFound("Unknown media id", code="MEDIA_NOT_FOUND")
    source = container.providers.media_source(number.provider)
    if source is None:
        label = container.providers.features(number.provider).label
        raise errors.NotSupported(
            f"Downloading inbound media is not supported for {label} numbers", feature="Media download"
        )
    return await source.download_media(
        credentials.number_ref(container, number), media_id, max_bytes=container.settings.media_max_bytes
    )
