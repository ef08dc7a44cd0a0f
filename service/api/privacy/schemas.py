from __future__ import annotations

from pydantic import BaseModel, Field


class StoredFieldOut(BaseModel):
    name: str = Field(description="Field path; `[]` marks list items, e.g. `signals[].lo`.")
    type: str
    purpose: str | None
    personal: bool = Field(description="About a subject, even only through a pseudonym (GDPR Art. 4(5)).")


class KeyClassOut(BaseModel):
    key_class: str
    pattern: str = Field(
        description="Key name; `<part>` stands for one part, `<prefix>` for the deployment's."
    )
    holds: str
    purpose: str
    retention: str = Field(description="Where the key's TTL comes from (every key has one).")
    survives_restart: bool
    on_loss: str
    encoding: str | None
    fields_enumerated: bool
    note: str
    personal: bool
    key_name_parts: list[StoredFieldOut]
    fields: list[StoredFieldOut]


class InventoryOut(BaseModel):
    personal_data_rule: str
    key_classes: list[KeyClassOut]
