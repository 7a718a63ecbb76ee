# Sourced by scripts/run and scripts/test: the project's virtualenv, installed
# from a hash-pinned lock file and left alone while that file is unchanged.
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# ensure_venv LOCKFILE: a working .venv with exactly that lock file installed.
ensure_venv() {
    local lock=$1 stamp want
    stamp="$VENV/.installed-$(basename "$lock" .txt)"
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            echo "The OMS needs Python 3.11 or newer as $PYTHON (set PYTHON=/path/to/python3.11)." >&2
            exit 1
        }
        echo "Creating $VENV ..."
        "$PYTHON" -m venv "$VENV"
    fi
    want=$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$lock")
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "Installing $lock into $VENV ..."
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
        echo "$want" >"$stamp"
    fi
}
