#!/usr/bin/env bash
# Third-party SCIM compliance: scim2-tester against a release-built scim-server.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CARGO_TARGET_DIR:-target}/ci-venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/compliance-requirements.txt
bash .ci/with-server.sh "$venv/bin/python" .ci/scim_compliance.py
