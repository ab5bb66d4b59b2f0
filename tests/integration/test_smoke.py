from __future__ import annotations


def test_text_message_reaches_read(api, number, wait):
    r = api.post(
        "/v1/messages/send", number["key"], json={"destinationNumber": "+5511988887777", "text": "hi"}
    )
    assert r.status_code == 202, r.text
    message_id = r.json()["id"]
    final = wait(
        lambda: (m := api.get(f"/v1/messages/{message_id}", number["key"]).json())["status"] == "READ" and m
    )
    assert final["sentAt"] and final["deliveredAt"] and final["readAt"]
