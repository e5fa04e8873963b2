#!/usr/bin/env bash
# Creates, once, the Python virtual environment the `mvcheck serve` tests run real clients
# from: the DataStax Python driver and cqlsh, from PyPI. Rerunning it is a no-op once both
# import, so CI and the tests can call it every time.
#
# The driver is installed without its C extensions (CASS_DRIVER_NO_EXTENSIONS=1): building
# them takes minutes and needs a compiler, and the pure-Python driver speaks the same protocol.
set -euo pipefail
venv="${1:?usage: setup_venv.sh DIR}"
if "$venv/bin/python" -c 'import cassandra, cqlshlib' 2>/dev/null && [ -x "$venv/bin/cqlsh" ]; then
  exit 0
fi
python3 -m venv "$venv"
CASS_DRIVER_NO_EXTENSIONS=1 "$venv/bin/pip" install --disable-pip-version-check --quiet \
  'cassandra-driver==3.30.*' 'cqlsh==6.2.*'
"$venv/bin/python" -c 'import cassandra; print("cassandra-driver", cassandra.__version__)'
