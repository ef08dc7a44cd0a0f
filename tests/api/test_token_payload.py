"""The refresh answer is built without its pydantic model: its JSON must be the model's own."""

from __future__ import annotations

from datetime import date

import orjson
from hypothesis import given
from hypothesis import strategies as st

from service.api.checks.schemas import TokenOut
from service.flows.results import IssuedToken

issued_tokens = st.builds(
    IssuedToken,
    token=st.text(min_size=1, max_size=60),
    expires_in=st.integers(min_value=1, max_value=86_400),
    band=st.text(min_size=1, max_size=12),
    level=st.text(min_size=1, max_size=12),
    recheck_at=st.dates(min_value=date(1970, 1, 1)),
    recheck_due=st.booleans(),
)


@given(issued_tokens)
def test_token_payload_serialises_exactly_as_the_token_model(issued: IssuedToken) -> None:
    assert orjson.dumps(TokenOut.payload(issued)) == TokenOut.of(issued).model_dump_json().encode()
