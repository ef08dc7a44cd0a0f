"""Multipart evidence: a photo as a file part, the method and other fields as text parts.

Parsed with Starlette's multipart parser, held in memory: an upload never rolls over to a
temporary file (the body limit has already capped its size), so evidence never touches a
disk. Errors name parts, never their contents.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Final

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from service.api.errors import MalformedUpload

MAX_TEXT_PARTS: Final = 16
# Above any body the evidence body limit admits (HttpSettings caps it at 32 MiB), so an upload
# is never spooled to a temporary file.
IN_MEMORY_UP_TO: Final = 64 * 1024 * 1024
MAX_TEXT_BYTES: Final = 4096

UPLOAD_BODY: Final[dict[str, Any]] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["method", "image"],
                "properties": {
                    "method": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 64,
                        "examples": ["facial_estimation"],
                    },
                    "image": {
                        "type": "string",
                        "format": "binary",
                        "description": "A JPEG, PNG or WebP photo (type sniffed from its bytes).",
                    },
                    "device": {"type": "string", "enum": ["mobile", "laptop", "unknown"]},
                },
                "additionalProperties": {"type": "string", "maxLength": MAX_TEXT_BYTES},
            }
        }
    },
}


class Upload:
    """The method named in the upload, its evidence (file parts as bytes) and the body size."""

    def __init__(self, method: str, evidence: dict[str, Any], size: int) -> None:
        self.method = method
        self.evidence = evidence
        self.size = size


async def read_upload(request: Request) -> Upload:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise HTTPException(415)
    size = 0

    async def counted() -> AsyncGenerator[bytes, None]:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            yield chunk

    parser = MultiPartParser(
        request.headers, counted(), max_files=1, max_fields=MAX_TEXT_PARTS, max_part_size=MAX_TEXT_BYTES
    )
    parser.spool_max_size = IN_MEMORY_UP_TO
    problem: str | None = None
    try:
        form = await parser.parse()
    except MultiPartException:
        problem = "the body is not a well-formed multipart form (one file part, short text parts)"
    if problem is not None:
        raise MalformedUpload(problem)
    evidence: dict[str, Any] = {}
    method: str | None = None
    try:
        for name, value in form.multi_items():
            if name in evidence or (name == "method" and method is not None):
                raise MalformedUpload("a part is given twice", part=name[:64])
            if name == "method":
                if not isinstance(value, str) or not 1 <= len(value) <= 64:
                    raise MalformedUpload("'method' must be a short text part", part="method")
                method = value
            elif isinstance(value, UploadFile):
                evidence[name] = await value.read()
            else:
                evidence[name] = value
    finally:
        await form.close()
    if method is None:
        raise MalformedUpload("the 'method' part is missing", part="method")
    return Upload(method, evidence, size)
