from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.privacy.schemas import InventoryOut
from service.privacy.inventory import inventory_document

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


@router.get("/inventory")
async def get_privacy_inventory(response: Response) -> InventoryOut:
    """Every field the service stores: key class, purpose, retention, and whether it is personal data.

    Public on purpose: it is generated from the code, holds no data and no configuration, and
    says what any deployment keeps, as a privacy notice would.
    """
    response.headers["Cache-Control"] = "public, max-age=3600"
    return InventoryOut.model_validate(inventory_document())
