"""Schemathesis hooks for `.ci/contract`.

Every schema-valid `Idempotency-Key` Schemathesis draws is replaced by a fresh UUID just
before the request goes out. Hypothesis draws the same few small keys again and again,
and the server rightly answers a key reused with another body `422
idempotency_key_reused`, which no schema can express. Schema-invalid keys (its negative
cases) are sent as drawn, so their `400 idempotency_key_invalid` is still checked. The
replay itself is tested in tests/api/idempotency.rs.
"""

import re
import uuid

import schemathesis

# The pattern and length of the header's schema in openapi/openapi.json.
VALID_KEY = re.compile(r"[!#-~]([ -~]*[!-~])?")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if (
            name.lower() == "idempotency-key"
            and isinstance(value, str)
            and len(value) <= 255
            and VALID_KEY.fullmatch(value)
        ):
            headers[name] = str(uuid.uuid4())
