"""Contract row: the file target (no HTTP)."""

from __future__ import annotations

import json

from contracts import Contract

CONTRACT = Contract(
    type="file",
    options=lambda server: {"folder": "out"},
    validate=lambda message: [] if json.dumps(message.body) else ["not JSON"],
    texts=lambda message: [message.body["post"]["url"]],
)
