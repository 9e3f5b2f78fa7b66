"""Runs the scim2-tester compliance checks against a running scim-server.

Usage: scim_compliance.py <server base url> <operator key file>

Waits for the server to be ready, creates a tenant and a SCIM token through the admin
API, runs every scim2-tester check against the tenant's SCIM URL, prints each result and
exits non-zero when any check reports an error.
"""

import sys
import time
from pathlib import Path

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def wait_until_ready(admin: Client) -> None:
    for _ in range(120):
        try:
            if admin.get("/readyz").status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def main() -> int:
    base_url, key_file = sys.argv[1], Path(sys.argv[2])
    admin = Client(base_url=base_url)
    wait_until_ready(admin)
    headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
    tenant = admin.post("/admin/v1/tenants", json={"name": "scim2-tester"}, headers=headers)
    tenant.raise_for_status()
    tenant = tenant.json()
    token = admin.post(f"/admin/v1/tenants/{tenant['id']}/scim-tokens", json={}, headers=headers)
    token.raise_for_status()
    scim_url = tenant["scimUrl"]

    http = Client(base_url=scim_url, headers={"Authorization": f"Bearer {token.json()['token']}"})
    results = check_server(SyncSCIMClient(http))
    failures = 0
    for result in results:
        failed = result.status in FAILING
        failures += failed
        resource = f" [{result.resource_type}]" if getattr(result, "resource_type", None) else ""
        reason = f": {result.reason}" if result.reason else ""
        print(f"{result.status.name:<10} {result.title}{resource}{reason}")
    print(f"scim2-tester: {len(results)} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
