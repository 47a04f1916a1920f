# make run         – the main job: execute the notebook series headless on the fast preset (figures/, videos/, out/)
# make test        – lint, unit tests, every notebook executed on the fast preset, student versions generated and checked
# make test-kernels – the replay and claims tests under the OpenBLAS kernels Sandybridge, Haswell and SkylakeX (where
#                     the CPU has AVX-512; else skipped with the reason) and torch's MKL AVX2 path (CI runs it)
# make lab         – open the notebooks in JupyterLab for class (the class preset unless GC_PRESET says otherwise)
# make student     – write the student notebooks (solutions removed, checks kept) to student/
# make grade SUBMISSIONS=<folder> – run every student's submitted notebooks, one CSV row per exercise (grades.csv)
# make site        – the course website from the student notebooks executed on the class preset (out/site/html)
# make times       – measure per-notebook and per-cell run times of a preset (PRESET=class by default)
# make regenerate NAME=runs/ant_quad_sgd – recompute one shipped artifact in data/ with its recorded command
# Each target creates .venv and installs the pinned requirements on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PRESET ?= class

.PHONY: install run run-class run-full test test-kernels test-fast lab student grade site times regenerate manifest strip bench clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python tools/runner.py --preset fast

run-class: $(STAMP)
	$(BIN)/python tools/runner.py --preset class

run-full: $(STAMP)
	$(BIN)/python tools/runner.py --preset full

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra --durations=15

test-kernels: $(STAMP)
	$(BIN)/python tools/test_kernels.py

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not notebook and not slow"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/  # the class preset unless GC_PRESET (or GC_FAST=1) says otherwise

student: $(STAMP)
	$(BIN)/python tools/assign.py --out student

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "SUBMISSIONS=<folder with one sub-folder of notebooks per student> is required"; exit 2; }
	$(BIN)/python tools/grade.py $(SUBMISSIONS) $(if $(OUT),--out $(OUT)) $(GRADE_ARGS)

site: $(STAMP)
	$(BIN)/python tools/site.py

times: $(STAMP)
	$(BIN)/python bench/notebook_times.py --preset $(PRESET)

regenerate: $(STAMP)
	@test -n "$(NAME)" || { echo "NAME=<artifact under data/, e.g. runs/ant_quad_sgd> is required"; exit 2; }
	$(BIN)/python tools/manifest.py --regenerate $(NAME)

manifest: $(STAMP)
	$(BIN)/python tools/manifest.py --write

strip: $(STAMP)
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf out figures student videos/*.mp4 videos/*.gif
