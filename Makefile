# make run   – execute the notebook series headless on the fast preset (figures/, videos/, out/notebooks/)
# make test  – lint, unit tests and every notebook executed with GC_FAST=1
# make lab   – open the notebooks in JupyterLab for class
# Each target creates .venv and installs the pinned requirements on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export MUJOCO_GL ?= egl

.PHONY: install run run-full test test-fast lab strip bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m gc_helpers.runner

run-full: $(STAMP)
	$(BIN)/python -m gc_helpers.runner --full

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not notebook"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

strip: $(STAMP)
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf out figures videos/*.mp4 videos/*.gif

manifest: $(STAMP)
	$(BIN)/python -m gc_helpers.manifest --write
