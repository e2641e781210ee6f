#!/usr/bin/env bash
# PostgreSQL server binaries for the tracking-server test (Debian's postgresql). The test starts its
# own private server on 127.0.0.1 and stops it; nothing here starts a service.
# Does nothing where they are installed; says why where it cannot install them.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/postgres" > /dev/null; then
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "install-postgres: no apt-get; install PostgreSQL to run the tracking-server test" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! sudo -n true 2> /dev/null; then
        echo "install-postgres: not root and no password-less sudo; the tracking-server test will be skipped" >&2
        exit 0
    fi
    SUDO="sudo -n"
fi
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql; } > /dev/null; then
    echo "install-postgres: apt-get could not install postgresql; the tracking-server test will be skipped" >&2
fi
