#!/usr/bin/env bash
# `make image-test`: build the CPU image with docker or podman (whichever is there), start it with no
# network, and check what a user relies on: /healthcheck, a transcription of a fixture, a diarized one,
# the user it runs as and the engine's health status. Removes what it made. Not part of `make test`
# (it needs a container engine and ~10 GB of disk).
#
#   CUDA=1                                 the CUDA image instead, started without a GPU: it must serve
#                                          on the CPU and log that no GPU is visible
#   ENGINE=podman                          the engine (default: docker if it answers, else podman)
#   PYTHON_IMAGE=localhost/pybase:bookworm the base image (default: the Containerfile's)
#   BUILD_FLAGS="--isolation chroot …"     extra build flags; RUN_FLAGS="--runtime …" extra run flags
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null; then engine=podman
  else echo "image-test: neither docker nor podman is available" >&2; exit 2; fi
fi
target=cpu
[ "${CUDA:-0}" = 1 ] && target=cuda
tag=whisperx-api-server:image-test-$target
format=()
[ "$engine" = podman ] && format=(--format docker)  # OCI images drop the HEALTHCHECK
base=()
[ -n "${PYTHON_IMAGE:-}" ] && base=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
# shellcheck disable=SC2086
"$engine" build "${format[@]}" "${base[@]}" ${BUILD_FLAGS:-} --target "$target" -t "$tag" .

container=""
cleanup() {
  [ -n "$container" ] && "$engine" rm -f -v "$container" >/dev/null 2>&1 || true
  "$engine" rmi -f "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# shellcheck disable=SC2086
container=$("$engine" run -d --network none ${RUN_FLAGS:-} "$tag")

in_container() { "$engine" exec "$container" "$@"; }
request() {  # METHOD PATH [FILE FIELD=VALUE…]: an HTTP call from inside (no network: loopback only)
  "$engine" exec -i "$container" /opt/venv/bin/python - "$@" <<'PY'
import json, sys, urllib.request, uuid
method, path, *rest = sys.argv[1:]
body, headers = None, {}
if rest:
    boundary = uuid.uuid4().hex
    parts = []
    for field in rest[1:]:
        name, value = field.split("=", 1)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    with open(rest[0], "rb") as audio:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                     f'Content-Type: audio/wav\r\n\r\n'.encode() + audio.read() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:8000{path}", body, headers, method=method),
                            timeout=600) as response:
    print(response.read().decode())
PY
}

echo "image-test: waiting for /healthcheck"
for _ in $(seq 1 120); do
  if request GET /healthcheck >/dev/null 2>&1; then break; fi
  sleep 2
done
request GET /healthcheck
"$engine" cp tests/fixtures/en_fox.wav "$container:/tmp/fox.wav"
"$engine" cp tests/fixtures/three_speakers.wav "$container:/tmp/three.wav"
text=$(request POST /v1/audio/transcriptions /tmp/fox.wav response_format=text)
echo "transcription: $text"
echo "$text" | grep -qi "fox" || { echo "image-test: the fixture was not transcribed" >&2; exit 1; }
diarized=$(request POST /v1/audio/transcriptions /tmp/three.wav response_format=diarized_json)
speakers=$(echo "$diarized" | python3 -c "import json, sys; print(len({s['speaker'] for s in json.load(sys.stdin)['segments']}))")
echo "diarized: $speakers speakers"
[ "$speakers" -ge 2 ] || { echo "image-test: the diarized transcription found one speaker" >&2; exit 1; }
# What a production image leaves out: the test tools (their own lock) and, on CPU, triton.
left_out="'pytest', 'playwright', 'schemathesis'"
[ "$target" = cpu ] && left_out="$left_out, 'triton'"
in_container /opt/venv/bin/python -c "import importlib.util as u, sys; sys.exit(' '.join(m for m in ($left_out) if u.find_spec(m)) or None)" \
  || { echo "image-test: the image holds test tools (or, on CPU, triton)" >&2; exit 1; }
if [ "$target" = cuda ]; then  # started without a GPU: it served the requests above on the CPU, and says so
  "$engine" logs "$container" 2>&1 | grep -q "no CUDA GPU is visible: serving on the CPU" \
    || { echo "image-test: the CUDA image without a GPU did not say it serves on the CPU" >&2; exit 1; }
  echo "cuda image without a GPU: serves on the CPU, and logged why"
fi
tools=$(in_container sh -c 'for tool in make gcc cc; do command -v "$tool"; done; true')
[ -z "$tools" ] || { echo "image-test: build tools shipped: $tools" >&2; exit 1; }
user=$(in_container id -u)
[ "$user" = 10001 ] || { echo "image-test: runs as uid $user, not 10001" >&2; exit 1; }
if [ "$engine" = podman ]; then
  "$engine" healthcheck run "$container" && health=healthy || health=unhealthy  # no systemd timer here
else
  for _ in $(seq 1 30); do
    health=$("$engine" inspect --format '{{.State.Health.Status}}' "$container")
    [ "$health" = starting ] || break
    sleep 5
  done
fi
echo "health: $health"
[ "$health" = healthy ] || { echo "image-test: the HEALTHCHECK says $health" >&2; exit 1; }
size=$("$engine" image inspect --format '{{.Size}}' "$tag")
echo "image-test: passed ($engine, $target image $(python3 -c "print(f'{$size / 1e9:.2f} GB')"))"
echo "the largest packages in it:"
in_container sh -c 'du -s /opt/venv/lib/python3*/site-packages/* /opt/venv/lib/python3*/site-packages/nvidia/* 2>/dev/null | sort -rn | head -12'

