# Two commands from a fresh clone: `make run` and `make test`.
# Both go through `make setup`: two pinned environments (Rasa's on Python 3.10,
# the staff console's on 3.12, docs/platform.md) and a trained model.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
RASA        := $(VENV)/bin/rasa
DEPS_STAMP  := $(VENV)/.deps-installed
# The staff console and the bank services it calls, without Rasa, on a
# supported Python and current aiohttp, Jinja2 and SQLAlchemy 2.x.
DESK_VENV   := .venv-desk
DESK_PY     := $(DESK_VENV)/bin/python
DESK_STAMP  := $(DESK_VENV)/.deps-installed
# The console runs only on .venv-desk (make run, the cluster, its image), so its
# tests and the audit's run only there; the bank services' tests run on both
# environments, because both run that code (SQLAlchemy 1.4 under Rasa, 2.x here).
DESK_ONLY_TESTS := $(wildcard tests/test_desk*.py) tests/test_audit.py
SHARED_TESTS := $(addprefix tests/test_,$(addsuffix .py,layers identifiers masking normalise holidays hours_service \
                booking_service debit_day deferral_service handoff_service knowledge_service knowledge_matcher \
                identity_postgres migrations branch_admin branch_changes))
MODEL_STAMP := models/.trained
# Written before training, not committed: the bank's names from the bank profile
# (bot/bank/vocabulary.py) and the knowledge base's questions for `ask_question`
# (bot/knowledge/training_data.py).
VOCABULARY  := data/nlu/bank_vocabulary.yml
KNOWLEDGE   := data/nlu/knowledge.yml
# The knowledge-base matchers of this checkout's corpora, saved for each environment
# (and the example questions' sentence embeddings), so servers and tests load them
# instead of training their own (bot/knowledge/matcher.py).
MATCHERS    := models/matchers/.saved
TRAIN_INPUTS := config.yml $(VOCABULARY) $(KNOWLEDGE) $(shell find data domain bot/nlu -type f \( -name '*.yml' -o -name '*.py' -o -name '*.txt' \) 2>/dev/null)

export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONHASHSEED := 0
# Rasa's telemetry and error reports would call out to the internet: off.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help setup deps desk-deps machine train run test test-rasa test-desk validate audit seed bench-nlu clean widget wording

help:
	@echo "make run    - set up, train if needed, start Rasa :5005 and actions :5055"
	@echo "make test   - check the machine, set up, train if needed, run the whole test suite"
	@echo "make test-rasa - the tests on .venv (Rasa's environment), on both cores (part of make test)"
	@echo "make test-desk - the console's and bank services' tests on .venv-desk (part of make test)"
	@echo "make audit  - known advisories in both Python environments and the widget (docs/platform.md)"
	@echo "make setup  - both venvs + pinned packages + trained model"
	@echo "make seed   - (re)load the demo bank into the database"
	@echo "make widget - build the website chat widget (bot/desk/static/widget.js)"
	@echo "make bench-nlu - held-out NLU benchmark against Rasa's stock pipeline"
	@echo "make wording - write docs/wording.md, every customer-facing sentence for review"

setup: deps desk-deps $(MODEL_STAMP) $(MATCHERS) widget

deps: $(DEPS_STAMP)

# pip, setuptools and wheel are pinned in the constraints like everything else.
$(DEPS_STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@python=$$(scripts/find-python 3.10) && echo "Using $$python" && \
	  { [ -x $(PY) ] || $$python -m venv $(VENV); }
	$(PY) -m pip install --quiet -c constraints.txt pip setuptools wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@mkdir -p var
	@touch $@

desk-deps: $(DESK_STAMP)

$(DESK_STAMP): requirements-desk.txt requirements-desk-dev.txt constraints-desk.txt
	@python=$$(scripts/find-python 3.12+) && echo "Using $$python" && \
	  { [ -x $(DESK_PY) ] || $$python -m venv $(DESK_VENV); }
	$(DESK_PY) -m pip install --quiet -c constraints-desk.txt pip setuptools wheel
	$(DESK_PY) -m pip install --quiet -r requirements-desk-dev.txt -c constraints-desk.txt
	@touch $@

$(VOCABULARY): $(DEPS_STAMP) bot/bank/demo_bank.yml bot/bank/vocabulary.py
	$(PY) -m bot.bank.vocabulary

$(KNOWLEDGE): $(DEPS_STAMP) bot/bank/knowledge/demo_knowledge.yml bot/knowledge/training_data.py
	$(PY) -m bot.knowledge.training_data

# Retrain only when no model is newer than the training inputs. The stamp
# carries the time training started, so edits made during training count.
$(MODEL_STAMP): $(DEPS_STAMP) $(TRAIN_INPUTS)
	@mkdir -p models var
	@touch models/.training-started
	$(RASA) train --domain domain --data data --config config.yml --fixed-model-name helpline --out models
	@mv models/.training-started $@

$(MATCHERS): $(DEPS_STAMP) $(DESK_STAMP) $(KNOWLEDGE) bot/knowledge/not_answered.yml $(wildcard bot/knowledge/*.py) bot/nlu/normalise.py
	@mkdir -p models/matchers
	$(PY) -m bot.knowledge.save_matchers
	$(DESK_PY) -m bot.knowledge.save_matchers
	@touch $@

train: deps
	@rm -f $(MODEL_STAMP) $(KNOWLEDGE)
	@$(MAKE) --no-print-directory $(MODEL_STAMP)

# The cluster on every core: one Rasa and one action server per core behind HAProxy,
# on PostgreSQL and Redis (scripts/run-cluster, docs/cluster.md).
run:
	@scripts/ensure-machine --serve
	@$(MAKE) --no-print-directory setup
	scripts/run-cluster

# One Rasa server, one action server and the console on SQLite: no PostgreSQL, Redis or HAProxy needed.
run-single: setup
	scripts/run-stack

# Chromium, fonts, PostgreSQL, Redis, Node: installed and started as root, else named (scripts/ensure-machine).
machine:
	@scripts/ensure-machine

# Each part on every core (pytest-xdist, TEST_WORKERS). The two environments'
# suites run one after the other: side by side they only fight for the cores.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: machine
	@$(MAKE) --no-print-directory setup
	$(VENV)/bin/ruff check --select F,E9 bot actions tests bench
	@$(MAKE) --no-print-directory validate test-rasa test-desk

validate: deps $(VOCABULARY) $(KNOWLEDGE)
	$(RASA) data validate --domain domain --data data --config config.yml --fail-on-warnings

# A file's tests stay on one worker (--dist loadfile), so a module's Rasa stack starts once.
test-rasa: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(addprefix --ignore=,$(DESK_ONLY_TESTS))

test-desk: desk-deps widget
	$(DESK_PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(DESK_ONLY_TESTS) $(SHARED_TESTS)

# Known advisories in both environments and the widget's lock file (bot/ops/audit.py).
# Fails when no advisory source answers: these machines reach none (docs/platform.md).
audit: deps desk-deps
	$(DESK_PY) -m bot.ops.audit

seed: deps
	$(PY) -m bot.bank.seed

# The website chat widget: npm ci when the lock changed, then esbuild.
WIDGET_JS   := bot/desk/static/widget.js
WIDGET_DEPS := widget/node_modules/.package-lock.json

widget: $(WIDGET_JS)

$(WIDGET_DEPS): widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund
	@touch $@

$(WIDGET_JS): $(WIDGET_DEPS) widget/build.mjs widget/tsconfig.json $(wildcard widget/src/*.ts)
	cd widget && node build.mjs

# Every response of the domain, by topic, with where it is used (docs/wording.md).
wording: deps
	$(PY) -m bot.wording_catalogue

bench-nlu: deps
	$(PY) -m bench.nlu_benchmark

clean:
	rm -rf models var build results .pytest_cache

# The cluster with CLUSTER_SERVERS Rasa servers (default: as `make run`, one a core; docs/cluster.md).
.PHONY: run-cluster run-single test-cluster bench-load
run-cluster: run

test-cluster: setup
	$(PY) -m pytest -m cluster tests/test_cluster.py

# Simulated customers against stock `rasa run`, then 1 of our Rasa servers, 2 and 4 behind HAProxy
# (bench/load.py, docs/benchmarks.md).
bench-load: deps
	$(PY) -m bench.load $(BENCH_ARGS)
