"""Take the program out of a model reply: the first ```python block, else the first ``` block,
else the whole reply (a reply that is only code). An unclosed fence (generation cut off by the
length limit) keeps what follows it."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*(?P<lang>[A-Za-z0-9_+-]*)[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.S)


def extract_code(reply: str) -> str:
    if "```" not in reply:
        return reply
    blocks = list(_FENCE.finditer(reply))
    for block in blocks:
        if block["lang"].lower() in ("python", "py", "python3"):
            return block["body"]
    return blocks[0]["body"] if blocks else reply
