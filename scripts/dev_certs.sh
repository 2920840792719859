#!/bin/sh
# Development PKI for `make run`: a CA and a server certificate for localhost in certs/dev/ (git-ignored).
# Safe to run every time: existing files are kept; only the 7-day CRL is re-signed when it is due.
# Usage: scripts/dev_certs.sh [DIR]   (VTN=path/to/vtn to use another executable)
set -eu
DIR=${1:-certs/dev}
VTN=${VTN:-.venv/bin/vtn}

if [ ! -f "$DIR/ca.crt" ]; then
    "$VTN" ca init --dir "$DIR"
fi
if [ ! -f "$DIR/server.crt" ] || [ ! -f "$DIR/server.key" ]; then
    "$VTN" ca issue-server --dir "$DIR" --host localhost --ip 127.0.0.1 --ip ::1 \
        --out-cert "$DIR/server.crt" --out-key "$DIR/server.key"
fi
# The VTN refuses a CRL past its next update; re-sign it when less than a day is left.
python_bin=$(dirname "$VTN")/python
[ -x "$python_bin" ] || python_bin=python3
if ! "$python_bin" - "$DIR/crl.pem" <<'PY'
import sys
from datetime import UTC, datetime, timedelta
from cryptography import x509
crl = x509.load_pem_x509_crl(open(sys.argv[1], "rb").read())
sys.exit(0 if crl.next_update_utc and crl.next_update_utc - datetime.now(UTC) > timedelta(days=1) else 1)
PY
then
    "$VTN" ca crl --dir "$DIR"
fi
