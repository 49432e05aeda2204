# Entry points for people and CI: `make demo`, `make test`.
# Everything runs from the venv that scripts/bootstrap.sh makes (AUTOTLS_VENV or .venv).

VENV ?= $(or $(AUTOTLS_VENV),$(CURDIR)/.venv)
PYTEST := $(VENV)/bin/pytest
# Parallel workers for the whole suite; ansible-test sanity keeps one of them busy.
JOBS ?= 2
# Extra options, e.g. make test PYTEST_ARGS='-k route53 -x', make bench BENCH_ARGS='--count 10'
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: bootstrap test unit integration sanity demo bench lint changelog

bootstrap:
	@AUTOTLS_VENV='$(VENV)' bash scripts/bootstrap.sh

test: bootstrap
	$(PYTEST) tests -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

unit: bootstrap
	$(PYTEST) tests/unit $(PYTEST_ARGS)

integration: bootstrap
	$(PYTEST) tests/integration -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

sanity: bootstrap
	$(PYTEST) tests/sanity $(PYTEST_ARGS)

demo: bootstrap
	$(VENV)/bin/python scripts/demo.py

bench: bootstrap
	$(VENV)/bin/python bench/issue_dns01.py $(BENCH_ARGS)

# Not part of `make test`: ansible-lint is installed on first use.
lint: bootstrap
	@$(VENV)/bin/ansible-lint --version >/dev/null 2>&1 || $(VENV)/bin/pip install -q ansible-lint
	$(VENV)/bin/ansible-lint

changelog: bootstrap
	$(VENV)/bin/antsibull-changelog lint
