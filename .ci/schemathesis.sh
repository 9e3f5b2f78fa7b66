#!/usr/bin/env bash
# schemathesis (pinned in .ci/schemathesis/requirements.txt) against a release-built
# scim-server, every phase (examples, coverage, fuzzing, stateful) and every check, bounded
# to 50 examples per operation: the SCIM API, then the admin API, then tenant deletion
# alone (schemathesis reuses ids it has seen, so a deletion could remove the other runs'
# tenants). Exits non-zero when any run reports a failure.
#
# Not yet called by .ci/run: the spec still leaves out constraints the server enforces (see
# the tracker, issue 11). Run it by hand: bash .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CARGO_TARGET_DIR:-target}/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/schemathesis/requirements.txt
# Schemathesis sends bad credentials by the hundred and loads one tenant far faster than an
# identity provider: neither the failure throttle nor the per-tenant limit is what is tested.
export SCIM_AUTH_FAILURE_LIMIT=1000000 SCIM_RATE_LIMIT_REQUESTS=0
export ST="$(realpath "$venv")/bin/st"
bash .ci/with-server.sh bash .ci/schemathesis/run.sh
