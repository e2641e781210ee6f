"""A real `mlflow server` on 127.0.0.1, started for a test and stopped by its process id."""

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base: str, path: str, body: dict | None = None, **query) -> dict:
    url = f"{base}/api/2.0/mlflow/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def mlflow_server(tracking_uri: str, log_path: Path, port: int | None = None):
    """Serves `tracking_uri` on `port` (a free one by default); yields the base URL once /health answers,
    and stops the server by its process id."""
    port = port or free_port()
    with log_path.open("a") as log:
        command = [
            sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tracking_uri,
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow server did not start; see {log_path}")
                time.sleep(1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def healthy(base: str) -> bool:
    return answers(f"{base}/health")


@contextlib.contextmanager
def model_server(model: Path, log_path: Path):
    """`mlflow models serve` of a model folder on a free port, in this Python's environment; yields the
    base URL once /ping answers, and stops the server's process group (its workers too)."""
    import os
    import signal

    port = free_port()
    with log_path.open("w") as log:
        command = [
            sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model), "--host", "127.0.0.1",
            "--port", str(port), "--env-manager", "local", "--workers", "1",
        ]  # fmt: skip
        # it starts uvicorn by name: this environment's bin folder first, whoever runs the tests
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not answers(f"{base}/ping"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow models serve did not start; see {log_path}")
                time.sleep(1)
            yield base
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have ended already (and said why)
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def invocations(base: str, rows, params: dict | None = None) -> dict:
    """POSTs a pandas frame (and the model's `params`) to a served model in MLflow's dataframe_split
    format; its JSON answer."""
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))} | (
        {"params": params} if params else {}
    )
    request = urllib.request.Request(
        f"{base}/invocations", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
