"""The page's photo form: one image file part and the method, held in memory only.

Like the API's multipart evidence (the body limit has capped its size first, and the parser is
told never to spool to a temporary file), so a photo never touches a disk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from service.web.errors import MalformedPhotoForm

IN_MEMORY_UP_TO: Final = 64 * 1024 * 1024  # above any evidence body limit: never spooled
MAX_TEXT_BYTES: Final = 256


@dataclass(slots=True)
class Photo:
    method: str
    evidence: dict[str, Any]
    size: int


async def read_photo(request: Request) -> Photo:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise MalformedPhotoForm("the photo form must be multipart/form-data")
    size = 0

    async def counted() -> AsyncGenerator[bytes, None]:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            yield chunk

    parser = MultiPartParser(
        request.headers, counted(), max_files=1, max_fields=2, max_part_size=MAX_TEXT_BYTES
    )
    parser.spool_max_size = IN_MEMORY_UP_TO
    try:
        form = await parser.parse()
    except MultiPartException:
        raise MalformedPhotoForm("the photo form is not well-formed (one file, the method)") from None
    method: str | None = None
    image: bytes | None = None
    try:
        for name, value in form.multi_items():
            if name == "method" and isinstance(value, str) and method is None:
                method = value
            elif name == "image" and isinstance(value, UploadFile) and image is None:
                image = await value.read()
    finally:
        await form.close()
    if method is None or not 1 <= len(method) <= 64 or image is None:
        raise MalformedPhotoForm("the photo form needs one 'image' file and the 'method'")
    return Photo(method, {"image": image}, size)
