# One command to run the service, one to pass the tests; both install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 9000
DATA_DIR ?= ./.batchyard
NODE_SDK := tests/node/node_modules/.installed

.PHONY: run test lint bench system-deps clean

system-deps:
	@bash scripts/install-system-deps

$(VENV)/.installed: pyproject.toml | system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The official Node.js SDK for tests/api/test_node_sdk.py, exactly as package-lock.json pins it.
$(NODE_SDK): tests/node/package.json tests/node/package-lock.json | system-deps
	npm ci --prefix tests/node --no-audit --no-fund
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/batchyard serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy src tests bench

# The job suites once more, with every compute node on a real Slurm cluster on loopback (docs/cluster.md):
# DAG, arrays, logs, mappings, named environments and their nodes, retries, timeouts, termination and the
# sandbox's refusals. The API's own rules, which no executor changes, run once; the run before already
# holds the executor contract suite and tests/slurm on the same kind of cluster.
RULES := tests/api/test_job_rules.py
SLURM_SUITE := tests/api/test_jobs.py tests/api/test_data_mappings.py tests/api/test_compute_nodes.py \
	$(RULES)::test_command_failing_twice_succeeds_on_its_third_attempt \
	$(RULES)::test_retries_are_exhausted_after_max_retry_count \
	$(RULES)::test_timeout_kills_the_whole_process_group_and_says_so \
	$(RULES)::test_timeout_applies_to_each_retry \
	$(RULES)::test_task_execution_depend_on \
	$(RULES)::test_terminate_task_instance_stops_only_that_instance \
	$(RULES)::test_retry_jobs_reruns_failed_instances_and_their_successors \
	tests/api/test_sandbox.py::test_a_command_cannot_reach_secrets_the_server_or_other_tasks \
	tests/api/test_sandbox.py::test_a_setsid_daemon_ends_with_its_attempt \
	tests/api/test_sandbox.py::test_a_command_that_needs_more_than_its_instance_type_is_killed_and_told_why \
	tests/api/test_monitor_data.py

# Two streams at once, to keep within the time budget on two cores: the suites whose tests wait on
# commands, timeouts, crashes and signals run in the foreground, alone in their stream; lint, the API's
# request-and-reply rules, the unit, storage and console tests, then the Slurm run, run beside them,
# their output shown when both are done. Each stream runs its tests one at a time. The sources are
# compiled first: every test server imports them, and where PYTHONDONTWRITEBYTECODE is set, each
# would compile them again.
SIDE_SUITE := tests/api/test_fuzz.py tests/api/test_sdk_contract.py tests/api/test_job_errors.py \
	tests/api/test_compute_envs.py tests/api/test_task_templates.py tests/api/test_instance_types.py \
	tests/api/test_protocol_errors.py tests/api/test_tls.py tests/api/test_tccli.py \
	tests/api/test_node_sdk.py tests/api/test_doc_languages.py tests/api/test_s3_storage.py \
	tests/unit tests/storage tests/console
SIDE_LOG := .artifacts/side-suite.log

test: $(VENV)/.installed $(NODE_SDK)
	@mkdir -p $(dir $(SIDE_LOG))
	@$(PY) -m compileall -q src >/dev/null
	@( $(MAKE) --no-print-directory lint; linted=$$?; \
	   $(VENV)/bin/pytest -q -p no:cacheprovider $(SIDE_SUITE); first=$$?; \
	   BATCHYARD_TEST_EXECUTOR=slurm $(VENV)/bin/pytest -q -p no:cacheprovider $(SLURM_SUITE); \
	   exit $$(( linted || first || $$? )) ) > $(SIDE_LOG) 2>&1 & side=$$!; \
	$(VENV)/bin/pytest -q $(addprefix --ignore=,$(SIDE_SUITE)); main=$$?; \
	wait $$side; status=$$?; \
	echo "--- beside it: $(SIDE_LOG) ---"; cat $(SIDE_LOG); \
	exit $$(( main || status ))

bench: $(VENV)/.installed
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .batchyard tests/node/node_modules
