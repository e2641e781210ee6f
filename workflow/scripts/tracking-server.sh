#!/usr/bin/env bash
# An MLflow tracking server for runs that span machines: the backend store in a database that takes
# concurrent writers (PostgreSQL), the artifacts where each experiment says (results/<experiment>/
# mlartifacts, on the shared file system). Binds 127.0.0.1 unless --host says otherwise.
#
#   workflow/scripts/tracking-server.sh start --backend-store-uri postgresql://mlflow@dbhost/mlflow \
#       [--host 127.0.0.1] [--port 5000] [--workers 4] [--state-dir .tracking-server]
#   workflow/scripts/tracking-server.sh stop [--state-dir .tracking-server]
#
# Then: export MLFLOW_TRACKING_URI=http://<host>:<port> before calling snakemake. Credentials go in
# PGPASSWORD or ~/.pgpass, never in the URI (it is written to logs); the URI reaches the server in its
# environment, not on its command line, which `ps` shows to every user. `stop` stops the process group
# its pid file names only if that process is an `mlflow server`.
set -euo pipefail

action=${1:-}
shift || true
backend="" host=127.0.0.1 port=5000 workers=4 state=.tracking-server
while [ $# -gt 0 ]; do
    case $1 in
        --backend-store-uri) backend=$2; shift 2 ;;
        --host) host=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --state-dir) state=$2; shift 2 ;;
        *) echo "tracking-server: unknown option $1" >&2; exit 2 ;;
    esac
done
pid_file=$state/server.pid

ours() {  # the pid file names a running `mlflow server`
    local pid
    [ -f "$pid_file" ] && pid=$(cat "$pid_file") && [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(ps -o args= -p "$pid" 2> /dev/null) == *"mlflow server"* ]]
}

case $action in
    start)
        if [ -z "$backend" ]; then
            echo "tracking-server: --backend-store-uri is required (e.g. postgresql://mlflow@dbhost/mlflow)" >&2
            exit 2
        fi
        # The workflow's own check (what a URI may hold: no secret), the URI in the environment, off `ps`
        if ! problem=$(LAYERWISE_BACKEND_URI=$backend python3 -c 'import os, sys
from layerwise.config.checks import ConfigError, check_tracking_uri
try:
    check_tracking_uri(os.environ["LAYERWISE_BACKEND_URI"], "--backend-store-uri")
except ConfigError as error:
    sys.exit(str(error))' 2>&1); then
            echo "tracking-server: ${problem:-cannot check the backend URI: is the layerwise environment active?}" >&2
            exit 2
        fi
        mkdir -p -m 0700 "$state"
        if ours; then
            echo "tracking-server: already running (pid $(cat "$pid_file"))" >&2
            exit 1
        fi
        MLFLOW_BACKEND_STORE_URI=$backend setsid mlflow server --host "$host" --port "$port" --workers "$workers" \
            > "$state/server.log" 2>&1 &
        echo $! > "$pid_file"
        for _ in $(seq 1 120); do
            if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
                "http://$host:$port/health" 2> /dev/null; then
                echo "MLFLOW_TRACKING_URI=http://$host:$port (pid $(cat "$pid_file"), log $state/server.log)"
                exit 0
            fi
            if ! kill -0 "$(cat "$pid_file")" 2> /dev/null; then
                echo "tracking-server: the server exited; see $state/server.log" >&2
                exit 1
            fi
            sleep 1
        done
        echo "tracking-server: no answer on http://$host:$port/health after 120 s; see $state/server.log" >&2
        exit 1
        ;;
    stop)
        if ours; then
            kill -- "-$(cat "$pid_file")" 2> /dev/null || true  # the server and its workers
        elif [ -f "$pid_file" ]; then
            echo "tracking-server: pid $(cat "$pid_file") in $pid_file is not an mlflow server; left alone" >&2
        fi
        rm -f "$pid_file"
        ;;
    *)
        echo "usage: tracking-server.sh start --backend-store-uri URI [--host H] [--port P] | stop" >&2
        exit 2
        ;;
esac
