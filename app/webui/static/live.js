// Live mode: the microphone to a realtime transcription session (OpenAI's Realtime protocol) and back.
// As OpenAI's browser guide does, the page calls over WebRTC (POST /v1/realtime/calls): with a key, it
// first makes a client secret that carries the session's configuration and calls with that; the
// microphone is the call's audio track and events come on its `oai-events` data channel. A server
// that takes no calls gets the WebSocket (/v1/realtime) with PCM appends instead.
// One line per turn with its time: the stable words in the normal colour, the tail still being
// decided in grey (our `...partial` events), then the final text. With "Who is speaking" the session
// asks for `gpt-4o-transcribe-diarize`: each turn's `...segment` events show who said which part
// (names for voices enrolled at /v1/speakers and listed under "Enrolled names").

const $ = (id) => document.getElementById(id);
const PCM_RATE = 24000;
const CALL_CONNECT_MS = 5000; // a call not connected by then gives way to the WebSocket
const live = { link: null, audio: null, stream: null, turns: new Map(), stopping: false };

function pageKey() {
  return sessionStorage.getItem("whisperx-api-key");
}

function keyProtocols() {
  const key = pageKey();
  return key ? ["realtime", `openai-insecure-api-key.${key}`] : ["realtime"];
}

async function refusal(response) {
  try {
    return (await response.json()).error.message;
  } catch {
    return `The server answered ${response.status}.`;
  }
}

function socketUrl() {
  const url = new URL("/v1/realtime?intent=transcription", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

function clock(ms) {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

function base64(buffer) {
  let binary = "";
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function status(text) {
  $("live-status").textContent = text;
}

function liveError(message) {
  $("live-error").textContent = message;
  $("live-error").hidden = !message;
}

function turn(itemId, startMs) {
  if (!live.turns.has(itemId)) {
    const li = document.createElement("li");
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = startMs === undefined ? "" : clock(startMs);
    const stable = document.createElement("span");
    stable.className = "stable";
    const tail = document.createElement("span");
    tail.className = "tail";
    const text = document.createElement("span"); // one grid cell: the grey tail follows the settled words
    text.append(stable, tail);
    li.append(time, text);
    $("live-turns").append(li);
    live.turns.set(itemId, { li, time, stable, tail, startMs, done: false, segments: [] });
  }
  return live.turns.get(itemId);
}

function showSegments(t) {
  t.stable.replaceChildren(...t.segments.flatMap((segment, index) => {
    const who = document.createElement("span");
    who.className = "speaker";
    who.textContent = segment.speaker;
    return [...(index ? [" "] : []), who, ` ${segment.text}`];
  }));
}

function onEvent(event) {
  switch (event.type) {
    case "input_audio_buffer.speech_started":
      turn(event.item_id, event.audio_start_ms);
      status("Hearing speech…");
      break;
    case "input_audio_buffer.speech_stopped":
      status("Listening");
      break;
    case "conversation.item.input_audio_transcription.delta":
      turn(event.item_id).stable.textContent += event.delta;
      break;
    case "conversation.item.input_audio_transcription.partial":
      turn(event.item_id).tail.textContent = event.text;
      break;
    case "conversation.item.input_audio_transcription.segment": {
      const t = turn(event.item_id);
      t.segments.push(event);
      showSegments(t);
      break;
    }
    case "conversation.item.input_audio_transcription.completed": {
      const t = turn(event.item_id);
      if (t.segments.length) showSegments(t);
      else t.stable.textContent = event.transcript;
      t.tail.textContent = "";
      t.done = true;
      t.li.classList.add("done");
      $("live-download").disabled = false;
      if (live.stopping && [...live.turns.values()].every((x) => x.done)) closeLink();
      break;
    }
    case "conversation.item.input_audio_transcription.failed":
      turn(event.item_id).tail.textContent = " (this part could not be transcribed)";
      turn(event.item_id).done = true;
      break;
    case "error":
      if (event.error.code !== "input_audio_buffer_commit_empty") liveError(event.error.message);
      break;
    default:
      break;
  }
}

function sessionConfig(withFormat) {
  const language = $("live-language").value.trim();
  const speakers = $("live-speakers").checked;
  const names = $("live-names").value.split(",").map((name) => name.trim()).filter(Boolean);
  return {
    type: "transcription",
    include: ["item.input_audio_transcription.partial"],
    audio: { input: {
      ...(withFormat ? { format: { type: "audio/pcm", rate: PCM_RATE } } : {}),
      transcription: {
        model: speakers ? "gpt-4o-transcribe-diarize" : "whisper-1",
        ...(language ? { language } : {}),
        ...(speakers && names.length ? { known_speaker_names: names } : {}),
      },
      turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
    } },
  };
}

function ended() {
  stopAudio();
  live.link = null;
  status("Stopped");
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
}

// Whether the call's connection comes up within CALL_CONNECT_MS.
function connects(peer) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CALL_CONNECT_MS);
    peer.onconnectionstatechange = () => {
      if (peer.connectionState === "connected" || peer.connectionState === "failed") {
        clearTimeout(timer);
        resolve(peer.connectionState === "connected");
      }
    };
  });
}

// A WebRTC call, or null where the server or the browser takes none, or the call cannot connect.
async function openCall(session) {
  if (typeof RTCPeerConnection === "undefined") return null;
  const key = pageKey();
  let secret = null;
  if (key) {
    const made = await fetch("/v1/realtime/client_secrets", {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ session }),
    });
    if (made.status === 404) return null;
    if (!made.ok) throw new Error(await refusal(made));
    secret = (await made.json()).value;
  }
  const peer = new RTCPeerConnection();
  live.stream.getTracks().forEach((track) => peer.addTrack(track, live.stream));
  const channel = peer.createDataChannel("oai-events");
  channel.onmessage = (message) => onEvent(JSON.parse(message.data));
  await peer.setLocalDescription(await peer.createOffer());
  let request;
  if (secret) { // OpenAI's browser guide: the raw offer, the client secret as the key
    request = { body: peer.localDescription.sdp, headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/sdp" } };
  } else { // a server without keys: the SDK's form, the configuration beside the offer
    const form = new FormData();
    form.append("sdp", peer.localDescription.sdp);
    form.append("session", JSON.stringify(session));
    request = { body: form, headers: {} };
  }
  const answered = await fetch("/v1/realtime/calls", { method: "POST", ...request });
  if (answered.status === 404 || answered.status === 405) {
    peer.close();
    return null;
  }
  if (!answered.ok) {
    peer.close();
    throw new Error(await refusal(answered));
  }
  await peer.setRemoteDescription({ type: "answer", sdp: await answered.text() });
  if (!(await connects(peer))) {
    // The server offers its own addresses only (no STUN/TURN): where UDP to it is blocked, the
    // WebSocket still reaches it over this page's own connection.
    peer.close();
    fetch(answered.headers.get("Location"), { method: "DELETE", headers: request.headers.Authorization
      ? { Authorization: request.headers.Authorization } : {} }).catch(() => {});
    return null;
  }
  peer.onconnectionstatechange = () => {
    if (["failed", "closed", "disconnected"].includes(peer.connectionState)) ended();
  };
  channel.onclose = ended;
  return {
    kind: "WebRTC",
    send: (event) => { if (channel.readyState === "open") channel.send(JSON.stringify(event)); },
    open: () => channel.readyState === "open" || channel.readyState === "connecting",
    close: () => { channel.close(); peer.close(); ended(); },
  };
}

async function openSocket(session) {
  const socket = new WebSocket(socketUrl(), keyProtocols());
  socket.onmessage = (message) => onEvent(JSON.parse(message.data));
  socket.onclose = ended;
  socket.onerror = () => liveError("The live connection to the server failed.");
  await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
  socket.send(JSON.stringify({ type: "session.update", session }));
  live.audio = new AudioContext({ sampleRate: PCM_RATE });
  await live.audio.audioWorklet.addModule("/static/pcm-worklet.js");
  const source = live.audio.createMediaStreamSource(live.stream);
  const packets = new AudioWorkletNode(live.audio, "pcm-packets");
  packets.port.onmessage = (message) => {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64(message.data) }));
    }
  };
  source.connect(packets);
  return {
    kind: "WebSocket",
    send: (event) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(event)); },
    open: () => socket.readyState === WebSocket.OPEN,
    close: () => socket.close(1000),
  };
}

async function startLive() {
  liveError("");
  $("live-start").disabled = true;
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
  } catch {
    liveError("The microphone could not be opened. Allow this page to use it and try again.");
    $("live-start").disabled = false;
    return;
  }
  try {
    live.link = (await openCall(sessionConfig(false))) || (await openSocket(sessionConfig(true)));
  } catch (error) {
    liveError(error.message);
    stopAudio();
    $("live-start").disabled = false;
    return;
  }
  live.stopping = false;
  $("live-stop").disabled = false;
  $("live-transport").textContent = live.link.kind;
  status("Listening");
}

function stopAudio() {
  if (live.stream) live.stream.getTracks().forEach((track) => track.stop());
  if (live.audio) live.audio.close();
  live.stream = null;
  live.audio = null;
}

function closeLink() {
  if (live.link) live.link.close();
  live.link = null;
}

function stopLive() {
  $("live-stop").disabled = true;
  live.stopping = true;
  status("Finishing…");
  if (live.link && live.link.open()) {
    live.link.send({ type: "input_audio_buffer.commit" }); // the turn still open, if any
    setTimeout(closeLink, 10000); // do not wait for ever
    if ([...live.turns.values()].every((t) => t.done)) setTimeout(closeLink, 1500);
  }
  // A call's track stops after the commit went out on its channel.
  setTimeout(stopAudio, 200);
}

function download() {
  const lines = [...live.turns.values()].filter((t) => t.stable.textContent.trim())
    .map((t) => `[${t.time.textContent}] ${t.segments.length
      ? t.segments.map((segment) => `${segment.speaker}: ${segment.text}`).join(" ")
      : t.stable.textContent.trim()}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/plain" }));
  link.download = "live-transcript.txt";
  link.click();
  URL.revokeObjectURL(link.href);
}

$("live-start").addEventListener("click", startLive);
$("live-stop").addEventListener("click", stopLive);
$("live-download").addEventListener("click", download);
