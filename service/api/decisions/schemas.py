"""Request and response bodies of the decisions API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.flows.decision_flow import PartyIn

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=8192)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
MAX_BATCH = 10_000
TARGET_ID_MAX = 128


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The document says what the validators enforce: a token, or a band with its levels, never both
# (null is read as absent).
TOKEN_OR_BAND: dict[str, Any] = {
    "anyOf": [
        {"properties": {"token": {"type": "null"}}},
        {"properties": {name: {"type": "null"} for name in ("band", "level", "upper_level")}},
    ]
}


class PartyBody(_Strict):
    """A band (with the levels its edges were assured at, if known), or an age-band token; omit
    both for a party of unknown age (an unknown target counts as a child)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=TOKEN_OR_BAND)

    band: Name | None = Field(default=None, description="A band of the policy, e.g. 18_plus.")
    level: Name | None = Field(
        default=None, description="How well the band's lower edge is established, e.g. effective."
    )
    upper_level: Name | None = Field(
        default=None,
        description="How well the band's upper edge ('at most 15') is established; omit when it is "
        "not (a self-declared minor band): the party then counts as unconfirmed in children's spaces.",
    )
    token: Token | None = Field(default=None, description="An age-band token issued to this client.")

    @model_validator(mode="after")
    def _token_or_band(self) -> PartyBody:
        if self.token is not None and (
            self.band is not None or self.level is not None or self.upper_level is not None
        ):
            raise ValueError("give either 'token' or 'band'/'level'/'upper_level', not both")
        return self

    def party(self) -> PartyIn:
        return PartyIn(self.band, self.level, self.token, self.upper_level)


class RelationshipBody(_Strict):
    """How the parties are related: a trusted connection both confirmed (its pair nonce)."""

    type: Literal["trusted"] = Field(description="Only 'trusted' for now.")
    nonce: Annotated[str, StringConstraints(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = (
        Field(description="The pair nonce from POST /v1/connections, which the other user confirmed.")
    )


class DecisionRequest(_Strict):
    action: Name = Field(description="An action of the policy, e.g. profile.view.")
    jurisdiction: Code = Field(description="A jurisdiction of the policy, e.g. default or GB.")
    actor: PartyBody = Field(default_factory=PartyBody, description="Who acts.")
    target: PartyBody = Field(default_factory=PartyBody, description="The account acted on.")
    country: Country | None = Field(default=None, description="ISO 3166-1 country, picks safety resources.")
    explain: bool = Field(default=False, description="Add the evaluation trace.")
    relationship: RelationshipBody | None = Field(
        default=None,
        description="A trusted connection: honoured (rules the policy marks relaxable set aside) only "
        "when both parties are tokens, both users confirmed the connection, and both are at or above "
        "the jurisdiction's trusted.min_band; never across the adult-minor line in the bundled packs.",
    )


class BatchTarget(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=TOKEN_OR_BAND)

    id: Annotated[str, StringConstraints(min_length=1, max_length=TARGET_ID_MAX)] = Field(
        description="The app's id for the target, unique in the batch; returned as given, never logged."
    )
    band: Name | None = None
    level: Name | None = None
    upper_level: Name | None = None
    token: Token | None = None


class BatchHead(_Strict):
    """A batch without its targets: what the fast reading of a batch of bands validates as a
    model (service/api/decisions/band_batch.py)."""

    action: Name
    jurisdiction: Code
    actor: PartyBody = Field(default_factory=PartyBody)
    reasons: bool = Field(default=False, description="Add the rule and reason per target.")


class BatchRequest(BatchHead):
    targets: list[BatchTarget] = Field(
        max_length=MAX_BATCH,
        description="Up to 10,000 targets; a repeated id is refused (422 duplicate_target_id).",
    )


class Step(BaseModel):
    rule: str
    matched: bool
    why: str
    effect: str
    priority: int


class DeterrenceOut(BaseModel):
    message: str = Field(description="Show it to the actor: the refusal and where confidential help is.")
    resources: list[dict[str, str]] = Field(description="Prevention services for the country.")


class DecisionOut(BaseModel):
    allowed: bool
    effect: str = Field(description="allow or deny.")
    rule: str = Field(description="The rule that decided (default-deny when none matched).")
    reason: str = Field(description="Stable reason code.")
    message: str = Field(description="User-facing message in the caller's language (Accept-Language).")
    obligations: list[str] = Field(description="What the app must do, e.g. show_safety_resources.")
    safety_resources: list[dict[str, str]] = Field(description="Help services, when the obligation asks.")
    policy_version: str
    trace: list[Step] | None = Field(default=None, description="With explain=true: every rule, in order.")
    relationship: Literal["trusted"] | None = Field(
        default=None, description="'trusted' when a proven trusted connection was honoured, else null."
    )
    deterrence: DeterrenceOut | None = Field(
        default=None,
        description="With the deterrence obligation (an adult's action towards a minor refused): what to "
        "show the actor. Actors given as a token are counted; repeated attempts flag them.",
    )


class TargetReason(BaseModel):
    allowed: bool
    rule: str
    reason: str
    message: str


class BatchOut(BaseModel):
    allowed: list[str] = Field(description="Ids of the targets the actor may act on, in request order.")
    denied: int
    policy_version: str
    reasons: dict[str, TargetReason] | None = Field(default=None, description="With reasons=true.")
