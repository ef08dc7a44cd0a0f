"""AuthZEN 1.0 request and response bodies, mapped onto ageband's decisions.

subject = the actor, resource = the target account, action = the policy action, context = the
jurisdiction and country. A party is an age-band token or a band with its levels, given in the
entity's ``properties``; other members of ``properties`` and ``context`` are ignored (AuthZEN lets
callers send more than a PDP reads), and never logged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.api.decisions.schemas import (
    MAX_BATCH,
    TOKEN_OR_BAND,
    BatchTarget,
    Code,
    Country,
    Name,
    Token,
)
from service.flows.decision_flow import PartyIn

EntityType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Semantic = Literal["execute_all", "deny_on_first_deny", "permit_on_first_permit"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyProperties(BaseModel):
    """An age-band token, or a band and the levels of its edges; none: a party of unknown age."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=TOKEN_OR_BAND)
    token: Token | None = Field(default=None, description="An age-band token issued to this client.")
    band: Name | None = None
    level: Name | None = None
    upper_level: Name | None = None

    @model_validator(mode="after")
    def _token_or_band(self) -> PartyProperties:
        if self.token is not None and (self.band or self.level or self.upper_level):
            raise ValueError("give either 'token' or 'band'/'level'/'upper_level', not both")
        return self

    def party(self) -> PartyIn:
        return PartyIn(self.band, self.level, self.token, self.upper_level)


class Subject(_Strict):
    type: EntityType = Field(description="e.g. user.")
    id: EntityId = Field(description="The caller's id for the user (e.g. its sid); not used to decide.")
    properties: PartyProperties | None = None


class Resource(_Strict):
    type: EntityType = Field(description="e.g. account.")
    id: EntityId = Field(description="The caller's id for the target account.")
    properties: PartyProperties | None = None


class Action(_Strict):
    name: Name = Field(description="An action of the policy, e.g. profile.view.")
    properties: dict[str, Any] | None = None


class Context(BaseModel):
    model_config = ConfigDict(extra="ignore")
    jurisdiction: Code = Field(default="default", description="A jurisdiction of the policy.")
    country: Country | None = Field(default=None, description="ISO 3166-1 country: picks safety resources.")


class EvaluationRequest(_Strict):
    subject: Subject
    action: Action
    resource: Resource
    context: Context | None = None


class EvaluationItem(_Strict):
    subject: Subject | None = None
    action: Action | None = None
    resource: Resource | None = None
    context: Context | None = None


class EvaluationsOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    evaluations_semantic: Semantic = "execute_all"


class EvaluationsRequest(_Strict):
    """Top-level subject, action, resource and context are defaults for every evaluation."""

    # The document says what the endpoint enforces: without evaluations, the top level is the one
    # evaluation, so it needs all three parts (an item missing a part is answered in its place).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["evaluations"], "properties": {"evaluations": {"minItems": 1}}},
                {
                    "required": ["subject", "action", "resource"],
                    "properties": {part: {"type": "object"} for part in ("subject", "action", "resource")},
                },
            ]
        },
    )

    subject: Subject | None = None
    action: Action | None = None
    resource: Resource | None = None
    context: Context | None = None
    evaluations: list[EvaluationItem] = Field(default_factory=list, max_length=MAX_BATCH)
    options: EvaluationsOptions | None = None


class CandidateProperties(BaseModel):
    model_config = ConfigDict(extra="ignore")
    candidates: list[BatchTarget] = Field(
        max_length=MAX_BATCH,
        description="The accounts to search among, each an id with a token or a band: ageband keeps no "
        "list of an app's accounts, so the caller names them.",
    )


class SearchResource(_Strict):
    type: EntityType
    properties: CandidateProperties


class SearchPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str | None = Field(default=None, max_length=64)


class ResourceSearchRequest(_Strict):
    subject: Subject
    action: Action
    resource: SearchResource
    context: Context | None = None
    page: SearchPage | None = None


class EvaluationResponse(BaseModel):
    decision: bool
    context: dict[str, Any] = Field(
        description="rule, reason, message, obligations, safety_resources, policy_version, deterrence "
        "(null, or the message and prevention resources /v1/decisions gives); in an "
        "evaluations answer, error ({status, code, message}) when that evaluation could not be made."
    )


class EvaluationsResponse(BaseModel):
    evaluations: list[EvaluationResponse]


class ResourceRef(BaseModel):
    type: str
    id: str


class ResourceSearchResponse(BaseModel):
    results: list[ResourceRef]
    page: dict[str, str]


class AuthzenConfiguration(BaseModel):
    policy_decision_point: str
    access_evaluation_endpoint: str
    access_evaluations_endpoint: str
    search_resource_endpoint: str
