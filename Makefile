# make run   -> create .venv, install everything, run the default experiment (config/config.yaml)
# make test  -> create .venv, install everything (and, saying so first, Chromium, PostgreSQL, SLURM where it can), run
#               the test suite
# make test-local -> the same suite, installing no system package and starting no system daemon (those tests skip)
VENV ?= .venv
PYTHON := $(VENV)/bin/python
CORES ?= all
CONFIG ?= config/config.yaml
# Rules call the `layerwise` command: the environment's bin folder goes first on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test test-local install browser postgres slurm clean

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

test-local: install
	LAYERWISE_TEST_LOCAL=1 $(PYTHON) -m pytest -q -rs

# Chromium and chromedriver for the MLflow UI test, from Debian's packages.
browser:
	scripts/install-debian.sh "the MLflow UI test (a browser)" chromedriver chromium chromium-driver

# PostgreSQL's server binaries for the tracking-server test (the test starts a private server).
postgres:
	scripts/install-debian.sh "the tracking-server test (a private PostgreSQL)" '/usr/lib/postgresql/*/bin/postgres' \
		postgresql

# SLURM and munge for the SLURM test (the test starts a single-node cluster with scripts/slurm-localhost.sh).
slurm:
	scripts/install-debian.sh "the SLURM test (a single-node cluster)" slurmctld slurmctld slurmd slurm-client munge

clean:
	rm -rf results .snakemake
