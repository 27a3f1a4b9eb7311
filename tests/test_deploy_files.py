"""Containerfile and compose.yaml, checked with the tools that run here (no container engine does):
hadolint for the Containerfile, the Compose Specification's JSON schema for compose.yaml, and the
promises the README makes about both."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONTAINERFILE = (ROOT / "Containerfile").read_text()


def run(*command: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_hadolint_passes_the_containerfile():
    result = run(BIN / "hadolint", "--config", ROOT / ".hadolint.yaml", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_follows_the_compose_specification(tmp_path):
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "compose.yaml"  # the check can fail: an unknown service key is refused
    broken.write_text((ROOT / "compose.yaml").read_text().replace("    image: whisperx-api-server:cpu",
                                                                  "    imagee: whisperx-api-server:cpu"))
    assert run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", broken).returncode != 0


def test_compose_services_build_the_matching_stages_and_keep_models_in_a_volume():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    stages = set(re.findall(r"^FROM \S+ AS (\w+)", CONTAINERFILE, flags=re.M))
    for service, target in (("whisperx-api-server-cpu", "cpu"), ("whisperx-api-server-cuda", "cuda")):
        spec = compose["services"][service]
        assert spec["build"]["target"] == target and target in stages
        assert spec["build"]["dockerfile"] == "Containerfile"
        assert "models:/data" in spec["volumes"] and "models" in compose["volumes"]
    devices = compose["services"]["whisperx-api-server-cuda"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_the_image_installs_and_starts_exactly_as_make_does():
    installs = re.findall(r"^RUN (.*(?:pip|make)[^\n]*)", CONTAINERFILE, flags=re.M)
    assert installs == ["make deps VENV=/opt/venv PYTHON=python3", "make install VENV=/opt/venv PYTHON=python3"]
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(VENV)/bin/whisperx-api-server serve" in makefile.split("run: install", 1)[1].split("\n\n")[0]
    assert 'CMD ["/opt/venv/bin/whisperx-api-server", "serve"]' in CONTAINERFILE
    assert re.search(r"^USER 10001:10001$", CONTAINERFILE, flags=re.M), "runs as a non-root user"
    assert "/healthcheck" in CONTAINERFILE.split("HEALTHCHECK", 1)[1].split("\nCMD")[0]
    assert 'VOLUME ["/data"]' in CONTAINERFILE


def test_the_scale_profile_runs_redis_api_replicas_and_workers():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for name in ("redis", "api", "worker"):
        assert "scale" in services[name]["profiles"]
    assert services["worker"]["command"] == ["/opt/venv/bin/whisperx-api-server", "worker"]
    for name in ("api", "worker", "worker-cuda"):
        assert services[name]["environment"]["JOBS__BACKEND"] == "celery"
        assert services[name]["environment"]["JOBS__REDIS_URL"] == "redis://redis:6379/0"
    gpu = services["worker-cuda"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["count"] == 1 and services["worker-cuda"]["build"]["target"] == "cuda"
