"""A request the holder weighs, as the law has it since issue 11 (Wmo 2015 art. 4.1.1 lid 2 sub d/e: Veilig Thuis
judges its own disclosures): it waits (an emergency in the urgent lane) until the holder approves with its recorded
weighing. Tests that need such a request released (reviews, oversight, the admin's pages, redaction) go through
this one path."""

from __future__ import annotations

from typing import Any

WEIGHING = "Acute danger to the victim and the children; victim support must act now, so Veilig Thuis informs it."


def released_after_weighing(partner: Any, requester: str, **body: Any) -> Any:
    """Ask as ``requester``; each category pending at a holder is approved by that holder with a weighing.
    Returns the request as read back by the requester once released (``200``)."""
    asked = partner(requester).ask(**body)
    assert asked.status_code in (200, 202), asked.content
    created = asked.json()
    holders = {d["provider"] for d in created["decisions"] if d["outcome"] == "pending"}
    for holder in sorted(holders):
        client = partner(holder, "provider")
        for item in client.get("/api/v1/holder/pending").json()["results"]:
            if item["request_id"] == created["id"]:
                settled = client.post(
                    f"/api/v1/holder/pending/{item['id']}", {"decision": "approve", "weighing": WEIGHING}
                )
                assert settled.status_code == 200, settled.content
    released = partner(requester).get(f"/api/v1/requests/{created['id']}")
    assert released.status_code == 200 and released.json()["status"] == "released", released.content
    return released


released_emergency = released_after_weighing
