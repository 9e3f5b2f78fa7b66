#!/usr/bin/env bash
# Clients generated from the committed openapi.json run a client developer's flow against a
# release-built scim-server. Any generator warning fails, as does any response that does
# not parse into the generated types.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/ci-clients"
mkdir -p "$out"

# Python: openapi-python-client (pinned in .ci/clients/requirements.txt).
venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/clients/requirements.txt
rm -rf "$out/python"
"$venv/bin/openapi-python-client" generate --path openapi.json --output-path "$out/python" \
    --config .ci/clients/openapi-python-client.yaml 2>&1 | tee "$out/python-generate.log"
if grep -qi "warning" "$out/python-generate.log"; then
    echo "openapi-python-client warned (see above)"
    exit 1
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "$out/python"
bash .ci/with-server.sh "$venv/bin/python" .ci/clients/python_flow.py

# TypeScript: openapi-typescript types and openapi-fetch (pinned in .ci/clients/ts), compiled
# with `tsc --strict`; the spec linted with Redocly's CLI, pinned there too.
rm -rf "$out/ts"
mkdir -p "$out/ts"
cp .ci/clients/ts/package.json .ci/clients/ts/package-lock.json .ci/clients/ts/tsconfig.json \
    .ci/clients/ts/flow.ts "$out/ts/"
(cd "$out/ts" && npm ci --no-audit --no-fund --silent)
# Redocly's recommended rules (no configuration: the built-in set); errors fail, and the
# README argues each remaining warning.
(cd "$out/ts" && npx redocly lint "$repo/openapi.json" --format=summary)
(cd "$out/ts" && npx openapi-typescript "$repo/openapi.json" -o schema.d.ts) 2>&1 | tee "$out/ts-generate.log"
if grep -qi "warn" "$out/ts-generate.log"; then
    echo "openapi-typescript warned (see above)"
    exit 1
fi
(cd "$out/ts" && npx tsc -p .)
bash .ci/with-server.sh node "$out/ts/dist/flow.js"
