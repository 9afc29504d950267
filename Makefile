# zoning — two commands matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CATALOG := layers/catalog.yaml
SAMPLE  := layers/nanping/generated

.PHONY: all install sysdeps layers demo test fuzz core-check bench clean distclean

all: demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: install your distribution's python3-venv package"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

install: $(STAMP)

# System tools the tests use when present: GDAL's ogrinfo, Chromium (browser tests of the offline
# map and of `zoning serve`), a small CJK font for their screenshots, and PostgreSQL + PostGIS (the
# service's history and PostGIS layer tests start a throw-away server in a temporary folder).
# Installed when running as root on Debian/Ubuntu; elsewhere the tests that need them skip with a reason.
SYSPKGS := gdal-bin chromium fonts-wqy-microhei postgresql postgresql-postgis
sysdeps:
	@missing=""; \
	command -v ogrinfo >/dev/null 2>&1 || missing="$$missing gdal-bin"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-postgis"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || echo "note: could not install$$missing; the tests that need them will be skipped"; \
	  else echo "note: missing$$missing (install them with apt); the tests that need them will be skipped"; fi; \
	fi

layers: install
	$(BIN)/zoning sample build --catalog $(CATALOG)

DEMO_OUT := out/demo

demo: layers
	$(BIN)/zoning layers list --catalog $(CATALOG)
	$(BIN)/zoning layers check --catalog $(CATALOG)
	$(BIN)/zoning sites $(SAMPLE)/sample_projects.gpkg --catalog $(CATALOG)
	$(BIN)/zoning rules check layers/rules/nanping.yaml --catalog $(CATALOG)
	$(BIN)/zoning screen $(SAMPLE)/sample_projects.gpkg --catalog $(CATALOG) --reports --overwrite -o $(DEMO_OUT)/screen
	$(BIN)/zoning screen 118.17,26.64 -a industry=C1371 -a two_high=false -a chemical=false \
	  -a boiler_th=8 -a boiler_fuel=coal --catalog $(CATALOG) --overwrite -o $(DEMO_OUT)/single
	$(BIN)/zoning carbon stock $(SAMPLE)/sample_projects.gpkg --catalog $(CATALOG) --overwrite -o $(DEMO_OUT)/carbon
	$(BIN)/zoning carbon program --catalog $(CATALOG) --overwrite -o $(DEMO_OUT)/program
	$(BIN)/zoning carbon stock $(SAMPLE)/sample_stands.gpkg --id-field 小班号 --catalog $(CATALOG) --overwrite \
	  -o $(DEMO_OUT)/stands_stock
	$(BIN)/zoning carbon program --stands $(SAMPLE)/sample_stands.gpkg --id-field 小班号 --catalog $(CATALOG) \
	  --overwrite -o $(DEMO_OUT)/program_stands
	$(BIN)/zoning map $(SAMPLE)/sample_projects.gpkg --catalog $(CATALOG) --overwrite -o maps/nanping_sample.html
	$(BIN)/zoning export --county 延平区 --format shp,gpkg,geojson,kml,csv --encoding gbk --results $(DEMO_OUT)/screen \
	  --catalog $(CATALOG) --overwrite -o $(DEMO_OUT)/export
	$(BIN)/zoning layers import $(SAMPLE)/official/成果数据 --list $(SAMPLE)/official/生态环境准入清单.xlsx \
	  --overwrite -o $(DEMO_OUT)/official
	$(BIN)/zoning layers check --catalog $(DEMO_OUT)/official/catalog.yaml
	$(BIN)/zoning screen $(SAMPLE)/sample_projects.gpkg --catalog $(DEMO_OUT)/official/catalog.yaml --reports \
	  --overwrite -o $(DEMO_OUT)/official_screen
	@echo "map: maps/nanping_sample.html; export: $(DEMO_OUT)/export/350702_Yanping"
	@echo "reports: $(DEMO_OUT)/screen/reports/*.html, $(DEMO_OUT)/single/report.html, $(DEMO_OUT)/program/program.html, $(DEMO_OUT)/program_stands/program.html"

test: layers sysdeps
	$(BIN)/python -m pytest

# The hostile-input suite at length: many more hypothesis examples (site files, literals,
# attributes, rule packs, catalogs) and 20 kill -9 per command; figures in tests/output/fuzz_figures.json.
# `make test` runs the same tests in their quick profile.
fuzz: layers sysdeps
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q tests/test_hostile.py tests/test_fuzz_sites.py \
	  tests/test_fuzz_rules.py tests/test_fuzz_pages.py tests/test_fuzz_kill.py tests/test_fuzz_escape.py
	@cat tests/output/fuzz_figures.json

# Core dependencies only: a fresh venv (CORE_VENV, default /tmp/zoning-core) with `pip install .`
# (no extras, not editable) runs screen (+reports), single-site screen, carbon stock/program, map
# and export on the sample layers; each must exit 0 and write its files. CI runs it after `make test`.
core-check: layers
	PYTHON=$(PYTHON) bash tools/core_check.sh

bench: layers
	test -f $(SAMPLE)/forest_carbon_30m.tif || $(BIN)/zoning sample build --resolution 30 --catalog $(CATALOG)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick,)
	$(BIN)/python benchmarks/service.py $(if $(QUICK),--quick,)

clean:
	rm -rf .pytest_cache build *.egg-info maps/*.html out

distclean: clean
	rm -rf $(VENV) $(SAMPLE)
