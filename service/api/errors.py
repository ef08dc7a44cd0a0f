"""The problems the HTTP layer answers itself, before or around any endpoint, and those of the
request formats it parses (multipart uploads, the introspection form).

Classes, like every other error, so that operations declare them by class (see
``service.api.responses``); ``service.api.problems`` renders them.
"""

from __future__ import annotations

from service.core.errors import AgebandError


class MalformedJson(AgebandError):
    code = "malformed_json"
    title = "Malformed JSON"


class MalformedBody(AgebandError):
    code = "malformed_body"
    title = "Malformed request"


class MalformedUpload(AgebandError):
    code = "malformed_upload"
    title = "Malformed multipart upload"


class MalformedIntrospection(AgebandError):
    code = "invalid_request"
    title = "Invalid introspection request"


class HttpError(AgebandError):
    """A refusal of the HTTP layer that no other code names; it keeps that layer's status."""

    code = "http_error"
    title = "HTTP error"


class ValidationFailed(AgebandError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class NoSuchRoute(AgebandError):
    status = 404
    code = "no_such_route"
    title = "Not found"


class MethodNotAllowedOnRoute(AgebandError):
    status = 405
    code = "method_not_allowed_on_route"
    title = "Method not allowed"


class BodyTooLarge(AgebandError):
    status = 413
    code = "body_too_large"
    title = "Request body too large"


class UnsupportedMediaType(AgebandError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class InternalError(AgebandError):
    status = 500
    code = "internal_error"
    title = "Internal error"


class MissingEvaluationPart(AgebandError):
    """AuthZEN: neither the evaluation nor the request's defaults give a subject, an action or a
    resource."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"
