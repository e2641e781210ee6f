import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# `make test-local`: the suite on a workstation where nothing is installed and no system daemon started.
LOCAL_ONLY = os.environ.get("LAYERWISE_TEST_LOCAL") == "1"
LOCAL_REASON = "make test-local starts no system daemon (make test installs and starts what this test needs)"
