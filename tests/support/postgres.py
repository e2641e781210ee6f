"""A private PostgreSQL server on 127.0.0.1 for a test, from Debian's packages, stopped by its pid."""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.mlflowserver import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def available() -> bool:
    return bool(BIN_DIRS) and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def as_owner(command: list[str], owner: str | None) -> list[str]:
    """PostgreSQL refuses to run as root: root runs it as the `postgres` user."""
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextlib.contextmanager
def postgres_database():
    """Yields the URI of database `mlflow` (user `mlflow`, trust authentication on 127.0.0.1 only)."""
    binaries = BIN_DIRS[-1]
    owner = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="layerwise-postgres-"))  # pytest's folders are closed to other users
    data = folder / "pgdata"
    data.mkdir()
    if owner:
        shutil.chown(folder, owner)
        shutil.chown(data, owner)
    port = free_port()

    def run(*command):
        subprocess.run(as_owner([str(binaries / command[0]), *command[1:]], owner), check=True, capture_output=True)

    run("initdb", "-D", str(data), "-U", "mlflow", "--auth=trust")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "postgres.log"), "-w", "start")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", "mlflow")
        yield f"postgresql://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)  # only if the clean stop failed
        shutil.rmtree(folder, ignore_errors=True)
