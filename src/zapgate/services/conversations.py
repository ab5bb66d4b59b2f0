"""A number's conversation history (``GET /v1/messages/history``, ``/unread``, ``/group``):
both directions in one timeline, under the number's PII policy."""

from __future__ import annotations

from dataclasses import replace

from zapgate import errors
from zapgate.container import Container
from zapgate.domain.conversations import HistoryPage, HistoryQuery, Listing

RELAY_ONLY_NOTICE = "PII_RELAY_ONLY"


async def history(container: Container, query: HistoryQuery) -> HistoryPage:
    """A page of the listing, newest first. ``RELAY_ONLY`` numbers keep no conversation: an
    empty page with ``notice``; ``STORE_X_DAYS`` numbers show their retention window only."""
    if query.start_ms is not None and query.end_ms is not None and query.start_ms > query.end_ms:
        raise errors.ValidationFailed("startDate must not be after endDate", code="INVALID_DATE_RANGE")
    found = await container.repos.conversations.number(query.number_id)
    if found is None:  # the key's number was removed since the key was resolved
        raise errors.NotFound("WhatsApp number not found", code="NUMBER_NOT_FOUND")
    provider, retention = found
    features = container.providers.features(provider)
    if query.listing is Listing.GROUPS and not features.groups:
        raise errors.ValidationFailed(
            "Group conversations are not available on Meta Cloud API numbers", code="NOT_SUPPORTED_FOR_META"
        )
    if retention.relay_only:
        return HistoryPage(
            (), 0, query.page, query.page_size, provider, features.media_source, notice=RELAY_ONLY_NOTICE
        )
    oldest = retention.lower_bound(container.clock.now_ms())
    if oldest is not None and (query.start_ms is None or query.start_ms < oldest):
        query = replace(query, start_ms=oldest)
    entries, total = await container.repos.conversations.page(query)
    return HistoryPage(entries, total, query.page, query.page_size, provider, features.media_source)
