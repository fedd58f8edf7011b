#!/bin/sh
# The application image's Python environment, built one way everywhere: images/app/Dockerfile RUNs this script
# in its build stage, and tests/test_image.py runs it on a staged copy of the same build context.
#
#   images/app/install.sh VENV        (uv on PATH; PYTHON, default python3, is the 3.11 interpreter)
#
# It reads only images/app/requirements.lock, pyproject.toml and webapi/todoflow/ (what the Dockerfile copies).
set -eu
venv="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-python3}"

# No pip in the image: nothing is installed at run time.
"$python" -m venv --without-pip "$venv"
# Exactly the runtime lock (sync also removes anything not in it), then the package itself without resolving
# again. Bytecode is compiled now: the pods run with a read-only root filesystem.
uv pip sync --python "$venv/bin/python" --compile-bytecode "$root/images/app/requirements.lock"
uv pip install --python "$venv/bin/python" --compile-bytecode --no-deps "$root"
"$venv/bin/todoflow" --help >/dev/null
