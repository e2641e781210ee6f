#!/usr/bin/env bash
# Installs Debian packages that a test needs, unless what they provide is already here, saying what and
# why before it does:
#   scripts/install-debian.sh WHY WHAT PACKAGE...
# WHY names the test that needs them; WHAT is a command name (chromedriver) or a path pattern
# (/usr/lib/postgresql/*/bin/postgres). Where they cannot be installed it says why and succeeds: the test
# that needs them is then skipped with its own reason. `make test-local` calls none of this.
set -euo pipefail
why=$1
what=$2
shift 2
if { [[ $what == */* ]] && compgen -G "$what" > /dev/null; } || command -v "$what" > /dev/null; then
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "install-debian: no apt-get to install $*; the tests that need them will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! sudo -n true 2> /dev/null; then
        echo "install-debian: not root and no password-less sudo for $*; the tests that need them will be skipped" >&2
        exit 0
    fi
    SUDO="sudo -n"
fi
echo "install-debian: installing $* with apt-get for $why (make test-local runs the suite without them)" >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"; } > /dev/null; then
    echo "install-debian: apt-get could not install $*; the tests that need them will be skipped" >&2
fi
