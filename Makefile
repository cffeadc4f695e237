# Two commands set up and check a fresh clone: `make install`, then `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SWEEP ?= timeseries
BENCH ?= lstm_lm
CONFIG ?= configs/timeseries/deep_rnn_dense.py
WORKDIR ?= runs/$(notdir $(basename $(CONFIG)))

.PHONY: install install-reference test data train ablate bench clean

install: $(VENV)/.installed

# Re-installs only when the dependency list changes, so `make install` is idempotent.
$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $@

# PyTorch (CPU) for the reference tests and the peer benchmarks, and the optional integrations (submitit for
# SLURM sweeps, wandb for tracking) so that their tests run; optional for users.
install-reference: install
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,cluster,tracking]' --config-settings editable_mode=compat

# One pytest worker per core (pytest-xdist): the suite is mostly XLA compiles, one thread each.
test: install
	$(PY) -m pytest -q -n auto

# The public datasets the configs read, fetched into $(SEQLAB_DATA_DIR) and checked against the sha256 of
# ../shared/data/README.md (data/download.py); DATASETS picks some, e.g. `make data DATASETS="imdb sst"`.
DATASETS ?= all
data: install
	@test -n "$(SEQLAB_DATA_DIR)" || { echo 'error: SEQLAB_DATA_DIR is not set: make data SEQLAB_DATA_DIR=DIR (the folder to fill).' >&2; exit 2; }
	$(PY) -m data.download --data_dir='$(SEQLAB_DATA_DIR)' $(DATASETS)

train: install
	$(PY) train.py --config=$(CONFIG) --workdir=$(WORKDIR)

ablate: install
	$(PY) ablate.py --sweep=configs/ablations/$(SWEEP).py --workdir=runs/ablate/$(SWEEP) --records=results/$(SWEEP)

bench: install
	$(PY) bench/$(BENCH).py

clean:
	rm -rf $(VENV) *.egg-info
