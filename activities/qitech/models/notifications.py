"""The provider's resend API ("reenvio de notificações"): the events it sent, by callback status and
origin key, within at most 14 days, and their callbacks (what was delivered to us).

Field names from the published page (docs.qitech.com.br/documentation/notificacoes/
reenvio_de_notificacoes); inbound, so parsed tolerantly.
"""

from __future__ import annotations

from pydantic import Field

from activities.tolerant import InboundModel

RESEND_WINDOW_DAYS = 14
"""The published listing refuses a window wider than this."""
PAGE_PARAMETER = "page"
"""ASSUMED: the query parameter naming the listing's page (counted from 1). The published answer
carries ``pagination: {current_page, rows_per_page}`` but the page that shows it does not name the
request's parameter."""
MAX_PAGES = 400
"""A listing longer than this many pages (10,000 events at the published 25 a page) is cut there and
said so: a provider that ignored the page parameter would otherwise be read forever."""


class NotificationCallback(InboundModel):
    callback_key: str
    callback_status: str | None = None  # e.g. sent, failed


class NotificationEvent(InboundModel):
    event_key: str
    event_type: str | None = None
    status: str | None = None
    origin_enumerator: str | None = None
    origin_key: str | None = None
    callbacks: list[NotificationCallback] = Field(default_factory=list)


class Pagination(InboundModel):
    current_page: int | None = None
    rows_per_page: int | None = None


class NotificationEvents(InboundModel):
    data: list[NotificationEvent] = Field(default_factory=list)
    pagination: Pagination | None = None
