# Two commands for a new machine: `make run` (VTN + demo credentials) and `make test` (whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VTN    := $(BIN)/vtn
DB     ?= sqlite:///var/vtn.db
HOST   ?= 127.0.0.1
PORT   ?= 8080
CERTS  ?= certs/dev
TLS    ?= 0   # make run TLS=1: HTTPS, client certificates optional, onboarding API on

.PHONY: run test lint install clean demo-credentials dev-certs demo demo-live bench bench-quick soak interop

$(BIN)/vtn: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"' \
		|| { echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) ..."
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -e '.[vtn,dev]'
	@touch $(BIN)/vtn

# Schemathesis fuzzes the served OpenAPI document (tests/security/test_fuzz.py). It lives apart, on its
# own PYTHONPATH: every release pins jsonschema-rs to a range other than the one the VTN needs.
FUZZ_TOOLS := $(VENV)/fuzz
SCHEMATHESIS := schemathesis==4.32.5

$(FUZZ_TOOLS)/.installed: Makefile | $(BIN)/vtn
	@$(BIN)/pip install --quiet --target $(FUZZ_TOOLS) --upgrade '$(SCHEMATHESIS)' 2>/dev/null
	@touch $@

install: $(BIN)/vtn $(FUZZ_TOOLS)/.installed

var/demo-bl.json: | $(BIN)/vtn
	@mkdir -p var
	@$(VTN) db upgrade --db $(DB)
	@$(VTN) clients add --db $(DB) --name demo-bl --role bl --json > var/demo-bl.json.tmp && mv var/demo-bl.json.tmp var/demo-bl.json

var/demo-ven.json: var/demo-bl.json
	@$(VTN) clients add --db $(DB) --name demo-ven --role ven --json > var/demo-ven.json.tmp && mv var/demo-ven.json.tmp var/demo-ven.json

demo-credentials: var/demo-bl.json var/demo-ven.json
	@echo "Demo credentials (also in var/demo-bl.json and var/demo-ven.json):"
	@echo "  BL : $$(cat var/demo-bl.json)"
	@echo "  VEN: $$(cat var/demo-ven.json)"

# A development CA and server certificate in certs/dev (made once; the CRL is re-signed when due).
dev-certs: install
	@VTN=$(VTN) sh scripts/dev_certs.sh $(CERTS)

run: install demo-credentials dev-certs
ifeq ($(TLS),1)
	@echo "Starting the VTN on https://$(HOST):$(PORT)/openadr3/3.1.0 (CA: $(CERTS)/ca.crt; Ctrl-C stops it)"
	@$(VTN) serve --db $(DB) --host $(HOST) --port $(PORT) \
		--tls-cert $(CERTS)/server.crt --tls-key $(CERTS)/server.key --client-ca $(CERTS)/ca.crt \
		--client-cert optional --crl $(CERTS)/crl.pem --ca-dir $(CERTS)
else
	@echo "Starting the VTN on http://$(HOST):$(PORT)/openadr3/3.1.0 (Ctrl-C stops it)"
	@echo "Operator console: http://$(HOST):$(PORT)/console/ (first: $(VTN) operators add NAME --role admin --db $(DB))"
	@$(VTN) serve --db $(DB) --host $(HOST) --port $(PORT)
endif

# An automated fortnight and event day at a fast clock: scheduled prices, an area overload, five
# simulated devices shifting, and the verification table (docs/programs.md). About a minute.
demo: install
	$(BIN)/python examples/demo_day.py

# The live demo: a VTN, three VEN agents and a BL script on loopback, in real time.
demo-live: install
	$(BIN)/python examples/demo.py

# The whole suite, spread over every core by pytest-xdist (docs/testing.md); tests that share a
# module-scoped fixture stay on one worker (tests/support/xdist_groups.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Benchmarks: the VTN and the load run as separate processes; results in bench/results.json (written
# row by row: a cut run keeps its rows) and docs/performance.md. `bench` about 25 minutes on a quiet
# 2-core machine (the endpoint sweep ~9 of them), `bench-quick` 2-3; each prints its expected time
# first. Never part of `make test`.
bench: install
	$(BIN)/python bench/run.py

bench-quick: install
	$(BIN)/python bench/run.py --quick

# Soak: one VTN under a steady mixed load for SOAK_MINUTES, its RSS and open files sampled every 10 s;
# bench/results-soak.json and the Soak section of docs/performance.md. Exits 1 unless flat.
SOAK_MINUTES ?= 10
soak: install
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

# Third-party OpenADR 3 clients against our VTN (also part of `make test`); rewrites docs/interop.md.
interop: install
	@mkdir -p var
	$(BIN)/pytest tests/interop --junitxml=var/interop-junit.xml
	$(BIN)/python scripts/interop_matrix.py var/interop-junit.xml

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
