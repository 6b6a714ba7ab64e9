# Mapbridge developer commands. `make demo` and `make test` work on a fresh Debian machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGIN := mapbridge
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
QGIS_PROFILE_DIR ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
export QGIS_PLUGINPATH := $(CURDIR)/.build/plugins

.PHONY: setup demo test test-matrix lint bench zip deploy qgis screenshots sandbox clean

setup:
	@VENV=$(VENV) bash tools/setup.sh

demo: setup
	@QT_QPA_PLATFORM=offscreen $(PY) tools/demo.py

test: setup
	@QT_QPA_PLATFORM=offscreen $(PY) -P -m pytest $(PYTEST_ARGS)

# The whole suite inside Debian 13 (QGIS 3.40 LTR) and Debian unstable (QGIS 3.44 LTR) roots, cached in
# $(MAPBRIDGE_ROOTS) (default /var/tmp/mapbridge-roots). Needs root (debootstrap, chroot).
test-matrix:
	@bash tools/test_matrix.sh $(SUITES)

# ruff, then the plugin repository's upload gates (Bandit, detect-secrets) on the packaged zip, and the changelog.
lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/python tools/plugin_gates.py
	@/usr/bin/python3 tools/make_zip.py --check-changelog

bench: setup
	@QT_QPA_PLATFORM=offscreen $(PY) bench/run.py $(BENCH_ARGS)

sandbox: setup
	@$(PY) -m sandbox --port $${PORT:-8765}

zip:
	@/usr/bin/python3 tools/make_zip.py dist

deploy:
	@mkdir -p "$(QGIS_PROFILE_DIR)/python/plugins"
	@ln -sfn "$(CURDIR)" "$(QGIS_PROFILE_DIR)/python/plugins/$(PLUGIN)"
	@echo "Linked into $(QGIS_PROFILE_DIR)/python/plugins/$(PLUGIN); enable it in Plugins ▸ Manage and Install Plugins."

qgis: setup
	@bash tools/run_qgis.sh

screenshots: setup
	@bash tools/screenshots.sh

clean:
	@rm -rf .build dist .qgis-settings demo-output bench-results
