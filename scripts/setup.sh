#!/usr/bin/env bash
# One-step environment for disdepth: a virtual environment in .venv with the pinned requirements
# (CPU torch, ONNX Runtime, the ROS 2 Jazzy wheels from PyPI) and the package installed editable; where
# ../shared/wheels/ros2_launch_jazzy exists (CI), also the real ROS 2 launch stack and `ros2` CLI, so that
# the tests run launch files and `ros2` commands for real. Safe to re-run: it only installs what is
# missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "disdepth setup: need Python 3.11 (the ROS 2 Jazzy wheels are built for it); found: $("$PYTHON" --version 2>&1)" >&2
    echo "  install it (Debian: apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "disdepth setup: python venv module missing, installing python3-venv with apt-get" >&2
            apt-get update -qq && apt-get install -y -qq python3-venv python3.11-venv >/dev/null 2>&1 \
                || apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv .venv
        else
            echo "disdepth setup: '$PYTHON -m venv' failed; install python3-venv (apt-get install python3.11-venv)" >&2
            exit 1
        fi
    fi
fi
stamp=.venv/.disdepth-requirements
launch_wheels=../shared/wheels/ros2_launch_jazzy
want=$( (cat requirements/*.txt setup.py; ls "$launch_wheels" 2>/dev/null || true) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "disdepth setup: installing pinned requirements into .venv (first run: a few minutes)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check "setuptools<80" wheel
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt \
        -r requirements/ros_wheels.txt
    if ls "$launch_wheels"/*.whl >/dev/null 2>&1; then
        echo "disdepth setup: installing the ROS 2 launch stack and ros2 CLI from $launch_wheels" >&2
        .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/ros_launch.txt
        .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "$launch_wheels"/*.whl
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
fi
# An editable install skips data_files: put the ament index marker, package.xml, launch/, config/,
# models/ and the lib/disdepth launcher into the venv prefix (AMENT_PREFIX_PATH=.venv finds them).
.venv/bin/python setup.py -q install_data --install-dir .venv --force >/dev/null 2>&1
rm -rf build
echo "disdepth setup: ready (.venv/bin/disdepth, .venv/bin/depth_node)" >&2
