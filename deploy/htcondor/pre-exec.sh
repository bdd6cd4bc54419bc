#!/bin/bash
# Run by htcondor/mini's /start.sh just before supervisord starts the daemons.
set -euo pipefail

uid="${AERIE_UID:-10001}"
tokens="${AERIE_TOKEN_DIR:-/run/aerie-condor/tokens.d}"

# DAGMan and local-universe jobs run as the submitter `aerie`; the same uid as the Aerie
# containers makes the submit directories on the shared data volume its own.
if ! id aerie >/dev/null 2>&1; then
    useradd --uid "$uid" --home-dir /var/lib/aerie --no-create-home --shell /bin/bash aerie
fi

# The pool signing key. The collector would create it at first start, but the token is minted
# before the daemons run; any random bytes are a valid key (owner-only, root's).
key="$(condor_config_val SEC_TOKEN_POOL_SIGNING_KEY_FILE)"
if [ ! -s "$key" ]; then
    mkdir -p "$(dirname "$key")"
    (umask 077 && head -c 64 /dev/urandom > "$key")
fi

# The workers' token: identity aerie@UID_DOMAIN, readable only by the aerie account.
mkdir -p "$tokens"
chown aerie: "$tokens"
chmod 0700 "$tokens"
condor_token_create -identity "aerie@$(condor_config_val UID_DOMAIN)" > "$tokens/aerie.tmp"
chown aerie: "$tokens/aerie.tmp"
chmod 0600 "$tokens/aerie.tmp"
mv "$tokens/aerie.tmp" "$tokens/aerie"
