from __future__ import annotations

import httpx


async def test_list_contacts_empty(client: httpx.AsyncClient) -> None:
    response = await client.get("/contacts")
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": [], "meta": {"page": 1, "perPage": 20, "total": 0}}
