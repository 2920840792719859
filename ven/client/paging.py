"""Paging through the VTN's lists, which answer at most MAX_PAGE_SIZE objects a request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 50  # the VTN answers 400 to a larger limit


async def pages(fetch: Callable[[int, int], Awaitable[list[T]]], page_size: int) -> AsyncIterator[T]:
    """Every item `fetch(skip, limit)` gives, page after page, until a page comes back short."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
    skip = 0
    while True:
        batch = await fetch(skip, page_size)
        for item in batch:
            yield item
        if len(batch) < page_size:
            return
        skip += len(batch)
