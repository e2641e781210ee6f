#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the MLflow UI test (Debian's chromium, chromium-driver).
# Does nothing where chromedriver is already on PATH; says why where it cannot install them.
set -euo pipefail
if command -v chromedriver > /dev/null; then
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "install-browser: no apt-get; install chromium and its chromedriver to run the MLflow UI test" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! sudo -n true 2> /dev/null; then
        echo "install-browser: not root and no password-less sudo; the MLflow UI test will be skipped" >&2
        exit 0
    fi
    SUDO="sudo -n"
fi
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver; } > /dev/null; then
    echo "install-browser: apt-get could not install chromium and chromium-driver; the MLflow UI test will be skipped" >&2
fi
