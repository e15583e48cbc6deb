# `make run` starts the whole platform on http://127.0.0.1:8800 (embedded default).
# `make test` installs what the tests need and runs the whole suite.

.PHONY: run test lint format bench

PORT ?= 8800

run:
	./scripts/bootstrap.sh
	.venv/bin/parley up --port $(PORT)

test:
	./scripts/bootstrap.sh --test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:
	./scripts/bootstrap.sh --test
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	.venv/bin/python bench/api.py
	.venv/bin/python bench/meetings.py
	.venv/bin/python bench/signaling.py
	.venv/bin/python bench/join_time.py
	.venv/bin/python bench/gateway.py
	.venv/bin/python bench/ai.py
	.venv/bin/python bench/media.py
