# The two commands of the README. Each sets itself up first (.ci/setup), so both work on a fresh
# machine.
VENV ?= .venv
export VENV

.PHONY: run test lint

# The daemon with the default model; a subscriber in another process prints the events it receives.
run:
	@bash .ci/setup run
	$(VENV)/bin/genrecast demo

test:
	@bash .ci/setup test
	$(VENV)/bin/pytest

lint:
	@bash .ci/setup test
	$(VENV)/bin/ruff check daemon train tests benchmarks models
	$(VENV)/bin/mypy daemon train benchmarks
