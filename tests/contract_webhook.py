"""Contract row: the generic signed webhook."""

from __future__ import annotations

import json

from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message


def _validate(message: Message) -> list[str]:
    body = message.body
    problems = []
    if set(body) != {"type", "timestamp", "data"}:
        problems.append(f"payload keys {sorted(body)}")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


CONTRACT = Contract(
    type="webhook",
    options=lambda server: {"url": server.url_for(f"/hook?token={SECRET}")},
    validate=_validate,
    texts=lambda message: [message.body["data"]["url"]],
    main_path="/hook",
    ok=lambda: Response(json.dumps({"id": "m1"}), content_type="application/json"),
    error=lambda status, echo: Response(
        f"rejected {echo}",
        status=status,
        headers={"Retry-After": "7"} if status == 429 else {},
    ),
)
