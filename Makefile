# The two set-up commands: `make run` (serve the bundled default model) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# glibc's malloc backs its heaps with transparent huge pages: a model batch allocates and frees
# hundreds of MB, which in 4 KB pages cost ~0.75 M page faults per 2-minute file (docs/performance.md).
# The server, the tests and the bench (library included) all run with it.
export GLIBC_TUNABLES ?= glibc.malloc.hugetlb=1
# The runtime tree, then the test tools: an image installs the first only (LOCKS=requirements.lock).
LOCKS ?= requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) 2>/dev/null | sha256sum | cut -c1-16)

.PHONY: deps without-gpu-compiler install system-deps run lint test test-unit test-integration bench bench-realtime bench-diarization bench-subtitles bench-reliability bench-live-speakers bench-first-delta bench-live-peer check-webrtc-nat image-test fixtures clean

# deps: the pinned tree (slow, cached by the lock's hash); install: this project on top, editable, so
# the `whisperx-api-server` command runs the checkout's code (seconds, every time).
install: deps
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation --editable .

deps: $(STAMP)

$(STAMP): $(LOCKS)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip==25.2 setuptools==84.2.1  # setuptools: editable install below
	$(VENV)/bin/pip install --quiet $(addprefix -r ,$(LOCKS))
	touch $@

# The CPU image leaves out triton, torch's compiler of GPU kernels (0.5 GB): nothing on the CPU path
# loads it (torch, whisperx, pyannote and CAM++ import and run without it; `make image-test` checks).
without-gpu-compiler:
	$(VENV)/bin/pip uninstall --quiet --yes triton

run: install
	$(VENV)/bin/whisperx-api-server serve

# Debian packages the tests drive for real: redis-server (Celery job tests), chromium (web page tests),
# qemu-user (a CPU without AVX-512, emulated).
SYSTEM_PACKAGES := redis-server chromium qemu-user
SYSTEM_COMMANDS := redis-server chromium qemu-x86_64

system-deps:
	@missing=""; for command in $(SYSTEM_COMMANDS); do command -v $$command >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $(SYSTEM_PACKAGES); \
	fi

# Style, formatting and types, as pyproject.toml's [tool.ruff] and [tool.mypy] configure them (seconds).
# `make test` runs it first, so CI enforces it; `ruff format app tests scripts` fixes the formatting.
LINTED := app tests scripts
lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

test: install system-deps lint
	$(PY) -m pytest

# Everything that needs no model, browser or Redis (fakes only): well under a minute.
test-unit: install
	$(PY) -m pytest -m "not integration"

test-integration: install system-deps
	$(PY) -m pytest -m integration

bench: install
	$(PY) scripts/bench.py

bench-diarization: install
	$(PY) scripts/bench_diarization.py

bench-subtitles: install
	$(PY) scripts/bench_subtitles.py

# Builds the CPU image (CUDA=1: the CUDA one) with docker or podman and checks it running with no network
# (not in `make test`).
image-test:
	CUDA=$(CUDA) scripts/image_test.sh

fixtures:
	scripts/make_fixtures.sh

clean:
	rm -rf $(VENV) .pytest_cache
bench-realtime: install
	$(PY) scripts/bench_realtime.py

bench-reliability: install
	$(PY) scripts/bench_reliability.py

bench-live-speakers: install
	$(PY) scripts/bench_live_speakers.py

bench-first-delta: install
	$(PY) scripts/bench_first_delta.py

# WebRTC calls through NAT, as to a container with published ports (root: a network namespace, iptables).
check-webrtc-nat: install
	$(PY) scripts/check_webrtc_nat.py

# Live text against WhisperLiveKit on read speech (WLK_SERVER: its server command, installed beside ours).
bench-live-peer: install
	$(PY) scripts/bench_live_peer.py
