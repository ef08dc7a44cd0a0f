"""Errors of questions the live policy cannot answer: a jurisdiction, action, band or level it
does not define."""

from __future__ import annotations

from service.core.errors import AgebandError


class UnknownJurisdiction(AgebandError):
    code = "unknown_jurisdiction"
    title = "Unknown jurisdiction"


class NoDecisionTable(UnknownJurisdiction):
    """A decision for a jurisdiction the compiled tables do not hold: the same answer as any
    unknown jurisdiction, raised where the decision tables are read."""


class UnknownAction(AgebandError):
    code = "unknown_action"
    title = "Unknown action"


class UnknownParty(AgebandError):
    code = "unknown_band_or_level"
    title = "Unknown band or level"
