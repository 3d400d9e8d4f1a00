# Sourced by .ci/serve and .ci/test, from the repository root.

# Make .venv hold requirements.txt, installing only when the file changed since last time.
ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    local want have
    want=$(sha256sum requirements.txt | cut -d' ' -f1)
    have=$(cat .venv/.requirements.sha256 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "Installing requirements.txt into .venv ..." >&2
        .venv/bin/python -m pip install --quiet -r requirements.txt
        echo "$want" > .venv/.requirements.sha256
    fi
}
