# make run   -> create .venv, install everything, run the default experiment (config/config.yaml)
# make test  -> create .venv, install everything (and Chromium, PostgreSQL, SLURM where it can), run the test suite
VENV ?= .venv
PYTHON := $(VENV)/bin/python
CORES ?= all
CONFIG ?= config/config.yaml
# Rules call the `layerwise` command: the environment's bin folder goes first on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test install browser postgres slurm clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -r requirements.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

run: install
	$(VENV)/bin/snakemake --cores $(CORES) --configfile $(CONFIG)

test: install browser postgres slurm
	$(PYTHON) -m pytest -q -rs

# Chromium and chromedriver for the MLflow UI test, from Debian's packages.
browser:
	scripts/install-debian.sh chromedriver chromium chromium-driver

# PostgreSQL's server binaries for the tracking-server test (the test starts a private server).
postgres:
	scripts/install-debian.sh '/usr/lib/postgresql/*/bin/postgres' postgresql

# SLURM and munge for the SLURM test (the test starts a single-node cluster with scripts/slurm-localhost.sh).
slurm:
	scripts/install-debian.sh slurmctld slurmctld slurmd slurm-client munge

clean:
	rm -rf results .snakemake
