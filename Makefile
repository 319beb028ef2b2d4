# otlp.tls: the two commands a user needs are `make demo` and `make test`.
# Both set up everything on a bare machine (apt packages, the virtualenv, the test-host
# image, collections) through scripts/setup.sh; a second run reuses the caches.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ENV := source scripts/env.sh
# Every Molecule scenario, as role/scenario.
SCENARIOS := $(patsubst roles/%/molecule.yml,%,$(subst /molecule/,/,$(wildcard roles/*/molecule/*/molecule.yml)))

.PHONY: test setup unit static matrix sanity lint ee molecule e2e bench e2e-readme demo demo-down clean help $(addprefix molecule-,$(SCENARIOS))

help:
	@echo "make demo      start a local fleet of test hosts and run playbooks/site.yml on it"
	@echo "make test      everything CI runs: unit tests, ansible-test sanity, ansible-lint, Molecule, e2e"
	@echo "make matrix    Python 3.8 floor, the distributions' cryptography, every ansible-core from 2.16 (tests/matrix)"
	@echo "make unit | matrix | sanity | lint | ee | molecule | molecule-<role>/<scenario> | e2e"
	@echo "make e2e-readme   run the e2e tests and write their matrix into README.md"
	@echo "make bench     fleet-scale benchmark: ours vs community.crypto vs a floor playbook (not in make test)"

setup:
	bash scripts/setup.sh

# The Molecule scenarios run two at a time (MOLECULE_JOBS; one per core here), each one's
# output printed whole when it ends (their containers and networks are named per scenario).
MOLECULE_JOBS ?= 2

# The unit tests (one core) run beside the static checks (sanity, lint, the EE check, in turn), which
# saves their time on two cores; the matrix, Molecule and the e2e tests then use both cores each.
test: setup
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j2 --output-sync=target unit static; \
	$(MAKE) --no-print-directory matrix; \
	$(MAKE) --no-print-directory -j$(MOLECULE_JOBS) --output-sync=target molecule; \
	$(MAKE) --no-print-directory e2e; \
	echo "make test: all steps passed in $$(( $$(date +%s) - start )) s"

unit:
	$(ENV); mkdir -p tests/output/junit; \
	pytest -q -p no:cacheprovider --junitxml=tests/output/junit/unit.xml -o junit_suite_name=unit tests/unit tests/tools

# The support matrix (tests/matrix): the Python 3.8 syntax floor of host-side code; the module
# tests once per managed-host cryptography version and the unit tests once per ansible-core
# minor version, each in its own cached venv, two at a time (tests/matrix/cells.sh); then one
# real converge, with idempotence, per ansible-core version on hosts of Debian 11, 12 and 13.
matrix:
	$(ENV); mkdir -p tests/output/junit; \
	pytest -q -p no:cacheprovider --junitxml=tests/output/junit/python-floor.xml -o junit_suite_name=python-floor \
	  tests/matrix/test_python_floor.py; \
	bash tests/matrix/cells.sh; \
	pytest -q -p no:cacheprovider -ra --junitxml=tests/output/junit/ansible-core-converge.xml \
	  -o junit_suite_name=ansible-core-converge tests/matrix/test_ansible_core.py

# sanity, lint and ee one after the other (make test runs this beside the unit tests).
static:
	$(MAKE) --no-print-directory sanity lint ee

sanity:
	bash tests/sanity/run.sh

lint:
	$(ENV); ansible-lint --offline

# execution-environment.yml, checked by `ansible-builder create` (AWX / AAP; docs/awx.md).
ee:
	bash tests/ee/check.sh

molecule: $(addprefix molecule-,$(SCENARIOS))

# One target per scenario, so a single one can be re-run: make molecule-certificate/default
$(addprefix molecule-,$(SCENARIOS)): molecule-%:
	$(ENV); role=$(word 1,$(subst /, ,$*)); scenario=$(word 2,$(subst /, ,$*)); \
	start=$$(date +%s); (cd roles/$$role && molecule test -s $$scenario); \
	echo "molecule $$role/$$scenario passed in $$(( $$(date +%s) - start )) s"

# pytest over the e2e fleet (tests/e2e/run.sh); JUnit XML in tests/output/junit/e2e.xml.
# The playbooks run from the collection as a user installs it (tarball, ansible-galaxy install).
e2e:
	E2E_INSTALLED=1 E2E_JUNIT=tests/output/junit/e2e.xml bash tests/e2e/run.sh

e2e-readme: setup
	bash tests/e2e/run.sh --readme

# Not part of `make test`: fleets of 10, 25 and 50 hosts (BENCH_ARGS="--sizes 10,25 --runs 3").
bench: setup
	bash tests/bench/run.sh $(BENCH_ARGS)

demo: setup
	bash scripts/demo.sh up

demo-down:
	bash scripts/demo.sh down

clean:
	rm -rf .tmp tests/output
