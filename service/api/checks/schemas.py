"""Request and response bodies of the checks API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from service.flows.checks import ANONYMOUS_PURPOSES
from service.flows.results import CheckView, EvidenceResult, IssuedToken, MethodOffer, StartedCheck

BAND_UPGRADE = "band_upgrade_needs_level"
SubjectRefStr = Annotated[str, StringConstraints(min_length=1, max_length=256)]
SidStr = Annotated[str, StringConstraints(pattern=r"^sid_[A-Za-z0-9_-]{43}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectBody(_Strict):
    # The document says what the validator enforces: exactly one of the two, each a string (null
    # is read as absent, and left out of the document).
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": [{"required": ["subject"]}, {"required": ["sid"]}]}
    )

    subject: SubjectRefStr | SkipJsonSchema[None] = Field(
        default=None,
        description="The app's own reference for its user. Never stored; only its sid.",
    )
    sid: SidStr | SkipJsonSchema[None] = Field(
        default=None, description="The sid returned earlier for this user."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SubjectBody:
        if (self.subject is None) == (self.sid is None):
            raise ValueError("give exactly one of 'subject' or 'sid'")
        return self


class StartCheckRequest(_Strict):
    # The document says what the validator enforces: a subject, a sid, or neither (an anonymous
    # check, for the anonymous purposes only); never both; a state only with a return_url.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {"required": ["subject", "sid"]},
            "allOf": [
                {
                    "anyOf": [
                        {"required": ["subject"]},
                        {"required": ["sid"]},
                        {"properties": {"purpose": {"enum": list(ANONYMOUS_PURPOSES)}}},
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"state": {"type": "null"}}},
                        {"required": ["return_url"], "properties": {"return_url": {"type": "string"}}},
                    ]
                },
            ],
        },
    )

    subject: SubjectRefStr | SkipJsonSchema[None] = Field(
        default=None,
        description="The app's own reference for its user. Never stored; only its sid. Leave out both "
        "subject and sid for an anonymous check (a gate for logged-out visitors): it keeps no record, and "
        "its token names a one-time pseudonym ('anon_...') instead of a sid.",
    )
    sid: SidStr | SkipJsonSchema[None] = Field(
        default=None, description="The sid returned earlier for this user."
    )
    jurisdiction: Code = Field(
        description="A jurisdiction of the policy, e.g. 'default' or 'GB'.", examples=["default", "GB"]
    )
    purpose: Literal["signup", "recheck", "step_up", "access", "confirm", "appeal"] = Field(
        default="signup",
        description="Why the app asks. 'confirm' corroborates the band on record: it offers only the "
        "methods that can establish a band's upper edge (what children's spaces need), and their "
        "evidence is combined with the band on record, so it can confirm the band but never move it. "
        "'appeal' contests the band on record: only the policy's appeal methods stronger than the one "
        "that set the band are offered, the band holds meanwhile, and the answer comes by the deadline "
        "given in 'appeal'.",
    )
    return_url: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = Field(
        default=None,
        description="Where the hosted check page sends the user at the end, with check_id and state: "
        "an exact URL of the client's return_urls or one under its return_url_prefixes. Given, the "
        "answer holds a single-use check_url to send the user to.",
        # For the document only: an absolute http(s) URL without a fragment, credentials,
        # whitespace or backslash. The service answers a malformed one 400 invalid_return_url.
        json_schema_extra={"pattern": r"^https?://[^/?#@:\s\\][^#@\s\\]*$"},
    )
    state: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,512}$")] | None = Field(
        default=None,
        description="An opaque value of the app's (printable ASCII, no spaces, up to 512), handed back "
        "on the return_url. Only with return_url.",
    )

    @model_validator(mode="after")
    def _state_needs_return_url(self) -> StartCheckRequest:
        if self.subject is not None and self.sid is not None:
            raise ValueError("give one of 'subject' or 'sid', or neither for an anonymous check")
        if self.subject is None and self.sid is None and self.purpose not in ANONYMOUS_PURPOSES:
            raise ValueError(
                f"an anonymous check (no 'subject' or 'sid') is for {' or '.join(ANONYMOUS_PURPOSES)}; "
                f"purpose {self.purpose!r} needs a subject"
            )
        if self.state is not None and self.return_url is None:
            raise ValueError("'state' goes with 'return_url'")
        return self


class MethodOut(BaseModel):
    name: str
    method_class: str
    description: str

    @classmethod
    def of(cls, m: MethodOffer) -> MethodOut:
        return cls(name=m.name, method_class=m.method_class, description=m.description)


class Explanation(BaseModel):
    uses: str = Field(description="What the first method asks of the user.")
    keeps: str = Field(description="What ageband keeps afterwards.")
    why: str = Field(description="Why the check is needed.")


class AppealOut(BaseModel):
    deadline: datetime = Field(description="By when the user gets an answer: show it to them.")
    message: str = Field(description="The policy's text for the user: the current band holds meanwhile.")


class StartCheckResponse(BaseModel):
    check_id: str
    sid: str = Field(
        description="The subject's sid; for an anonymous check its one-time pseudonym ('anon_...'), "
        "which names no record and cannot be refreshed."
    )
    expires_at: datetime
    method: MethodOut
    methods: list[MethodOut]
    explanation: Explanation
    appeal: AppealOut | None = Field(
        default=None, description="With purpose 'appeal': its deadline and text."
    )
    check_url: str | None = Field(
        default=None,
        description="With return_url: the hosted check page for the user (single use, unguessable, "
        "no longer-lived than the check). Send the user's browser there.",
    )

    @classmethod
    def of(cls, s: StartedCheck, check_url: str | None = None) -> StartCheckResponse:
        return cls(
            check_url=check_url,
            check_id=s.check_id,
            sid=s.sid,
            expires_at=s.expires_at,
            method=MethodOut.of(s.method),
            methods=[MethodOut.of(m) for m in s.methods],
            explanation=Explanation(
                uses=s.explanation_uses, keeps=s.explanation_keeps, why=s.explanation_why
            ),
            appeal=AppealOut(deadline=s.appeal_deadline, message=s.appeal_message or "")
            if s.appeal_deadline is not None
            else None,
        )


class EvidenceRequest(BaseModel):
    """``method`` names the method; every other field is the method's evidence."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})
    method: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CheckResponse(BaseModel):
    check_id: str
    status: Literal["pending", "passed", "failed"]
    jurisdiction: str
    purpose: str
    expires_at: datetime
    methods_tried: list[str]
    attempts_left: int
    next_method: MethodOut | None
    reason: str | None
    token: TokenOut | None = Field(
        default=None,
        description="An anonymous check that passed on the hosted page (or through a wallet or eID "
        "callback): its one-time token, in the first answer only. Evidence submitted through the API "
        "answers the token itself.",
    )

    @classmethod
    def of(cls, v: CheckView) -> CheckResponse:
        return cls(
            check_id=v.check_id,
            status=v.status.value,
            jurisdiction=v.jurisdiction,
            purpose=v.purpose,
            expires_at=v.expires_at,
            methods_tried=v.methods_tried,
            attempts_left=v.attempts_left,
            next_method=MethodOut.of(v.next_method) if v.next_method else None,
            reason=v.reason,
            token=TokenOut.of(v.token) if v.token is not None else None,
        )


class TokenOut(BaseModel):
    token: str = Field(description="A signed age-band JWT (typ ageband+jwt).")
    token_type: Literal["ageband+jwt"] = "ageband+jwt"  # noqa: S105  # a type name, not a secret
    expires_in: int
    band: str
    level: str = Field(description="How well the band's lower edge ('at least 13') is established.")
    upper_level: str | None = Field(
        default=None,
        description="How well its upper edge ('at most 15') is established; null when it is not (a "
        "self-declared minor band, or the top band): such a minor counts as unconfirmed in "
        "children's spaces, and a check with purpose 'confirm' can corroborate it.",
    )
    recheck_at: date
    recheck_due: bool
    recheck_reason: str | None = Field(
        default=None,
        description="A re-check the app asked for is pending (POST /v1/subjects/recheck): its reason "
        "code. Until it is done, the token carries the policy's pending_recheck view of the band.",
    )
    recheck_deadline: datetime | None = Field(
        default=None, description="When that re-check must be done; after it, refresh asks for it."
    )

    @classmethod
    def of(cls, t: IssuedToken) -> TokenOut:
        return cls(
            token=t.token,
            expires_in=t.expires_in,
            band=t.band,
            level=t.level,
            upper_level=t.upper_level,
            recheck_at=t.recheck_at,
            recheck_due=t.recheck_due,
            recheck_reason=t.recheck_reason,
            recheck_deadline=t.recheck_deadline,
        )

    @staticmethod
    def payload(t: IssuedToken) -> dict[str, Any]:
        """``TokenOut.of(t)`` as plain data for orjson, skipping the model: every refresh answers
        with one. A test pins its JSON to the model's own."""
        return {
            "token": t.token,
            "token_type": "ageband+jwt",
            "expires_in": t.expires_in,
            "band": t.band,
            "level": t.level,
            "upper_level": t.upper_level,
            "recheck_at": t.recheck_at,
            "recheck_due": t.recheck_due,
            "recheck_reason": t.recheck_reason,
            "recheck_deadline": (
                t.recheck_deadline.isoformat().replace("+00:00", "Z") if t.recheck_deadline else None
            ),
        }


class EvidenceResponse(BaseModel):
    outcome: Literal["passed", "inconclusive", "failed"]
    reason: str | None = Field(description="Stable reason code when not passed.")
    check: CheckResponse
    token: TokenOut | None
    sanction: str | None = Field(
        default=None,
        description="The abuse signal (e.g. younger_band) whose policy sanction this submission "
        "brought on, also when the check passed.",
    )
    consequence: str | None = Field(
        default=None,
        description="What that sanction or refusal means for the user, in the policy's words and "
        "their language: show it to them.",
    )
    methods: list[MethodOut] | None = Field(
        default=None,
        description="With reason band_upgrade_needs_level: the methods that could prove the older "
        "band (the band on record stands until one does).",
    )
    min_level: str | None = Field(
        default=None, description="With reason band_upgrade_needs_level: the level they must reach."
    )

    @classmethod
    def of(cls, r: EvidenceResult) -> EvidenceResponse:
        return cls(
            outcome=r.outcome,
            reason=r.reason,
            check=CheckResponse.of(r.check),
            token=TokenOut.of(r.token) if r.token else None,
            sanction=r.sanction,
            consequence=r.consequence,
            methods=[MethodOut.of(m) for m in r.methods] if r.reason == BAND_UPGRADE else None,
            min_level=r.min_level,
        )
