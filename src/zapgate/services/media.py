"""Media of inbound messages (``GET /v1/media/{mediaId}``), cut at ``media_max_bytes``.

Looked up first in Zapgate's own store (``inbound_media``: the bytes Evolution GO and the sandbox
hand over with the message, or Evolution GO's S3/MinIO link, read on demand), then fetched from
the number's provider by id (its ``MediaSource`` role: Meta, Evolution API v2)."""

from __future__ import annotations

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.inbound import OCTET_STREAM, KeptMedia
from zapgate.domain.numbers import Number
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
        raise _not_found()
    kept = await container.repos.media.get(number.id, media_id)
    if kept is not None:
        return await _from_store(container, number, kept)
    source = container.providers.media_source(number.provider)
    if source is None:  # its media are only ever in the store
        raise _not_found()
    return await source.download_media(
        credentials.number_ref(container, number), media_id, max_bytes=container.settings.media_max_bytes
    )


async def _from_store(container: Container, number: Number, kept: KeptMedia) -> DownloadedMedia:
    """The kept bytes; else the media read from the provider's link; else (it was too large to
    keep) 413."""
    max_bytes = container.settings.media_max_bytes
    if kept.content is not None and len(kept.content) <= max_bytes:
        return DownloadedMedia(kept.content, kept.mime_type or OCTET_STREAM, kept.file_name)
    if kept.content is None and kept.link is not None:
        source = container.providers.media_link_source(number.provider)
        if source is None:
            raise _not_found()
        ref = credentials.number_ref(container, number)
        found = await source.download_media(ref, kept.link, max_bytes=max_bytes)
        # The webhook's mime type and name are the message's own; the bucket's may be generic.
        return DownloadedMedia(found.content, kept.mime_type or found.mime_type, kept.file_name)
    raise errors.PayloadTooLarge(
        f"The media is larger than the download limit ({max_bytes:,} bytes; ZAPGATE_MEDIA_MAX_BYTES)",
        code="MEDIA_TOO_LARGE",
    )


def _not_found() -> errors.NotFound:
    return errors.NotFound("Unknown media id", code="MEDIA_NOT_FOUND")
