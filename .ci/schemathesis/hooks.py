"""schemathesis hooks for the SCIM run (loaded by scim.toml).

F14: SCIM attribute names compare without case (RFC 7643 §2.1), so the server refuses a
body whose object names one member twice, `"t"` and `"T"` as much as `"t"` twice (400
invalidSyntax, documented on every SCIM request body). JSON Schema cannot say that member
names must differ without case, so the fuzzer now and then draws such a body and counts it
as schema-valid. Leave those cases out; the Rust tests cover the refusal.
"""

import schemathesis


def names_a_member_twice(value) -> bool:
    if isinstance(value, dict):
        folded = {key.lower() for key in value}
        if len(folded) < len(value):
            return True
        return any(names_a_member_twice(member) for member in value.values())
    if isinstance(value, list):
        return any(names_a_member_twice(item) for item in value)
    return False


@schemathesis.hook
def filter_case(context, case):
    return not names_a_member_twice(case.body)
