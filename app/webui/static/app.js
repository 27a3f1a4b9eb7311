// The page: upload a recording as an async job, follow its events, show, play and export the result.
// Plain ES module, no dependencies; it talks to the same API as every other client.

const $ = (id) => document.getElementById(id);
const SPEAKER_COLOURS = ["#0b57d0", "#b3261e", "#146c2e", "#8e3ea8", "#b06000", "#00696b", "#5f6368", "#c2185b"];
const EXPORTS = [["srt", "srt"], ["vtt", "vtt"], ["text", "txt"], ["json", "json"], ["verbose_json", "verbose.json"],
                 ["vtt_json", "vtt.json"], ["aud", "aud.txt"]];
const state = { key: sessionStorage.getItem("whisperx-api-key") || "", job: null, file: null, words: [], enrolled: [] };

// --- talking to the API -------------------------------------------------------------------------

function headers() {
  return state.key ? { Authorization: `Bearer ${state.key}` } : {};
}

class ApiError extends Error {
  constructor(status, body) {
    super(plainWords(status, body?.error));
    this.status = status;
  }
}

// API errors in words a person can act on; the API's own message is kept when it is already plain.
function plainWords(status, error = {}) {
  const code = error.code || "";
  if (status === 401) return "This server needs a valid API key. Enter it above and try again.";
  if (status === 403) return "Your API key is not allowed to do that.";
  if (status === 413) return "The file is too large for this server. Try a shorter or more compressed recording.";
  if (status === 429) return "The server is busy right now. Please try again in a moment.";
  if (status === 503 && code === "shutting_down") return "The server is restarting. Please try again in a moment.";
  if (code === "model_not_found") return "That model is not available on this server.";
  if (error.param === "file" || /decod|no audio|audio stream/i.test(error.message || "")) {
    return "That file does not look like audio or video this server can read. Please choose a recording.";
  }
  if (status >= 500) return "The server could not finish this transcription. Please try again later.";
  return error.message ? `The server could not accept this request: ${error.message}` : `Request failed (${status}).`;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body);
  }
  return response;
}

function upload(path, form) {
  // XMLHttpRequest, not fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) $("upload-progress").value = event.loaded / event.total;
    };
    request.onload = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new ApiError(request.status, body));
    };
    request.onerror = () => reject(new Error("The server could not be reached. Check your connection."));
    request.send(form);
  });
}

// --- start-up: what the server is (GET /info), API key and models ----------------------------------

async function start() {
  try {
    state.info = await (await fetch("/info")).json();
  } catch {
    state.info = null; // an older server: learn about keys from the first 401 instead
  }
  if (state.info && state.info.auth_required && !state.key) {
    $("key-panel").hidden = false; // no round trip needed to know a key is wanted
    $("api-key").focus();
    return;
  }
  loadModels();
}

async function loadModels() {
  try {
    const models = await (await api("/v1/models")).json();
    $("key-panel").hidden = true;
    const select = $("model");
    select.replaceChildren(...models.data.map((model) => new Option(model.id === "whisper-1" ? "default" : model.id, model.id)));
    await loadEnrolled();
  } catch (error) {
    if (error.status === 401) {
      $("key-panel").hidden = false;
      $("api-key").focus();
    } else {
      showError(error.message);
    }
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("api-key").value.trim();
  sessionStorage.setItem("whisperx-api-key", state.key);
  loadModels();
});

// --- choosing a file -------------------------------------------------------------------------------

function chooseFile(file) {
  state.file = file;
  $("file-name").textContent = file ? `${file.name} (${(file.size / 1048576).toFixed(1)} MB)` : "";
  const limit = state.info && state.info.max_upload_size_bytes;
  showError(file && limit && file.size > limit
    ? `This file is larger than the server accepts (${(limit / 1048576).toFixed(0)} MB). Choose a shorter or more compressed recording.`
    : "");
}

$("file").addEventListener("change", () => chooseFile($("file").files[0]));
const dropZone = $("drop-zone");
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  if (event.dataTransfer.files.length) chooseFile(event.dataTransfer.files[0]);
});

// --- transcribing ----------------------------------------------------------------------------------

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function requestForm() {
  const form = new FormData();
  const translate = $("task").value === "translations";
  form.append("file", state.file, state.file.name);
  form.append("model", $("model").value);
  form.append("async", "true");
  form.append("response_format", $("format").value);  // the job's own format; the page reads verbose_json
  if ($("prompt").value.trim()) form.append("prompt", $("prompt").value);
  if (!translate) {
    form.append("timestamp_granularities[]", "segment");
    if ($("words").checked) form.append("timestamp_granularities[]", "word");
    form.append("align", String($("align").checked));
    form.append("diarize", String($("diarize").checked));
    if ($("diarize").checked) {
      for (const name of state.enrolled.slice(-4)) form.append("known_speaker_names[]", name); // enrolled voices by name
    }
    for (const [id, field] of [["language", "language"], ["hotwords", "hotwords"], ["min-speakers", "min_speakers"],
                               ["max-speakers", "max_speakers"]]) {
      if ($(id).value.trim()) form.append(field, $(id).value.trim());
    }
  }
  return { form, path: `/v1/audio/${$("task").value}` };
}

async function followJob(job) {
  // Server-sent events of the job's status; EventSource cannot send a key, so read the stream by fetch.
  const response = await api(`/v1/audio/transcriptions/${job.id}/events`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let last = job;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!chunk.startsWith("data: ")) continue;
      last = JSON.parse(chunk.slice(6));
      $("job-stage").textContent = last.status === "running" ? `— ${last.stage || "working"}` : `— ${last.status}`;
      $("job-progress").value = last.status === "succeeded" ? 1 : last.progress;
    }
  }
  return last;
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  if (!state.file) {
    showError("Choose a recording first.");
    return;
  }
  $("start").disabled = true;
  $("progress-area").hidden = false;
  $("upload-progress").value = 0;
  $("job-progress").value = 0;
  $("job-stage").textContent = "";
  try {
    const { form, path } = requestForm();
    const accepted = await upload(path, form);
    const finished = await followJob(accepted);
    if (finished.status !== "succeeded") {
      throw new ApiError(finished.error?.type === "invalid_request_error" ? 400 : 500, { error: finished.error || {} });
    }
    state.job = finished;
    const transcript = await (await api(`${finished.result_url}?response_format=verbose_json`)).json();
    showTranscript(transcript);
  } catch (error) {
    showError(error.message);
  } finally {
    $("start").disabled = false;
  }
});

// --- the transcript --------------------------------------------------------------------------------

function clock(seconds) {
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = String(whole % 60).padStart(2, "0");
  const tenths = Math.floor((seconds - whole) * 10);
  return `${minutes}:${rest}.${tenths}`;
}

function colourOf(speakers, speaker) {
  if (!speaker) return "transparent";
  if (!speakers.has(speaker)) speakers.set(speaker, SPEAKER_COLOURS[speakers.size % SPEAKER_COLOURS.length]);
  return speakers.get(speaker);
}

function seek(seconds) {
  const player = $("player");
  player.currentTime = seconds;
  player.play().catch(() => { /* autoplay may be refused; the position is set */ });
}

function showTranscript(transcript) {
  const player = $("player");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(state.file);
  const speakers = new Map();
  const list = $("segments");
  const items = [];
  state.words = [];
  for (const segment of transcript.segments || []) {
    const item = document.createElement("li");
    item.dataset.start = segment.start;
    item.dataset.end = segment.end;
    item.style.borderLeftColor = colourOf(speakers, segment.speaker);
    const time = document.createElement("button");
    time.className = "time";
    time.type = "button";
    time.textContent = clock(segment.start);
    time.setAttribute("aria-label", `Play from ${clock(segment.start)}`);
    time.addEventListener("click", () => seek(segment.start));
    const text = document.createElement("p");
    text.style.margin = "0";
    if (segment.speaker) {
      const who = document.createElement("span");
      who.className = "speaker";
      who.style.color = colourOf(speakers, segment.speaker);
      who.textContent = segment.speaker;
      who.dataset.speaker = segment.speaker;
      text.append(who);
      if (/^SPEAKER_\d+$/.test(segment.speaker)) {
        const name = document.createElement("button");
        name.type = "button";
        name.className = "name-speaker";
        name.textContent = "Name…";
        name.setAttribute("aria-label", `Name ${segment.speaker}`);
        name.addEventListener("click", () => nameSpeaker(transcript, segment.speaker));
        text.append(name);
      }
    }
    const words = (transcript.words || []).filter((w) => w.start >= segment.start - 0.01 && w.end <= segment.end + 0.01);
    if (words.length) {
      for (const word of words) {
        const span = document.createElement("span");
        span.className = "word";
        span.textContent = `${word.word} `;
        span.dataset.start = word.start;
        span.dataset.end = word.end;
        span.addEventListener("click", () => seek(word.start));
        text.append(span);
        state.words.push(span);
      }
    } else {
      text.append(segment.text.trim());
    }
    item.append(time, text);
    items.push(item);
  }
  list.replaceChildren(...items);
  drawTimeline(transcript, speakers);
  drawExports();
  $("result").hidden = false;
  $("result-title").focus?.();
}

// --- naming a speaker: "this is Alice" enrols that speaker's voice at /v1/speakers -------------------

async function nameSpeaker(transcript, speaker) {
  const name = (window.prompt(`Who is ${speaker}? Their voice will be recognised in later recordings.`) || "").trim();
  if (!name) return;
  const spans = (transcript.segments || []).filter((s) => s.speaker === speaker).map((s) => [s.start, s.end]);
  try {
    const clip = await speechOf(spans, 60);
    if (clip.seconds < 2) throw new Error(`${speaker} speaks for less than 2 seconds here: too little to know the voice.`);
    const form = new FormData();
    form.append("name", name.slice(0, 64));
    form.append("file", new Blob([clip.wav], { type: "audio/wav" }), `${name}.wav`);
    await api("/v1/speakers", { method: "POST", body: form });
    state.enrolled = [...state.enrolled.filter((n) => n !== name), name];
    for (const label of document.querySelectorAll(`#segments .speaker[data-speaker="${speaker}"]`)) {
      label.textContent = name;
      label.nextElementSibling?.classList.contains("name-speaker") && label.nextElementSibling.remove();
    }
    for (const entry of $("legend").children) {
      if (entry.lastChild.textContent === speaker) entry.lastChild.textContent = name;
    }
  } catch (error) {
    showError(error.message);
  }
}

// The recording's audio within `spans` (seconds), at most `limit` seconds of it, as a 16-bit WAV.
async function speechOf(spans, limit) {
  const context = new OfflineAudioContext(1, 16000, 16000);
  const audio = await context.decodeAudioData(await state.file.arrayBuffer());
  const rate = audio.sampleRate;
  const channel = audio.getChannelData(0);
  const pieces = [];
  let total = 0;
  for (const [start, end] of spans) {
    const piece = channel.subarray(Math.floor(start * rate), Math.min(channel.length, Math.floor(end * rate)));
    const room = Math.floor(limit * rate) - total;
    if (room <= 0) break;
    pieces.push(piece.subarray(0, room));
    total += Math.min(piece.length, room);
  }
  const wav = new DataView(new ArrayBuffer(44 + total * 2));
  const text = (offset, value) => [...value].forEach((c, i) => wav.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); wav.setUint32(4, 36 + total * 2, true); text(8, "WAVEfmt ");
  wav.setUint32(16, 16, true); wav.setUint16(20, 1, true); wav.setUint16(22, 1, true);
  wav.setUint32(24, rate, true); wav.setUint32(28, rate * 2, true); wav.setUint16(32, 2, true); wav.setUint16(34, 16, true);
  text(36, "data"); wav.setUint32(40, total * 2, true);
  let offset = 44;
  for (const piece of pieces) {
    for (const sample of piece) {
      wav.setInt16(offset, Math.max(-1, Math.min(1, sample)) * 0x7fff, true);
      offset += 2;
    }
  }
  return { wav: wav.buffer, seconds: total / rate };
}

async function loadEnrolled() {
  try {
    state.enrolled = (await (await api("/v1/speakers")).json()).data.map((speaker) => speaker.name);
  } catch {
    state.enrolled = []; // an older server, or no key yet
  }
}

function drawTimeline(transcript, speakers) {
  const duration = transcript.duration || 1;
  const strip = $("timeline");
  strip.replaceChildren(...(transcript.segments || []).filter((s) => s.speaker).map((segment) => {
    const turn = document.createElement("span");
    turn.style.left = `${(segment.start / duration) * 100}%`;
    turn.style.width = `${Math.max(0.3, ((segment.end - segment.start) / duration) * 100)}%`;
    turn.style.background = colourOf(speakers, segment.speaker);
    turn.title = `${segment.speaker} ${clock(segment.start)}–${clock(segment.end)}`;
    return turn;
  }));
  strip.hidden = speakers.size === 0;
  $("legend").replaceChildren(...[...speakers].map(([speaker, colour]) => {
    const entry = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    entry.append(swatch, speaker);
    return entry;
  }));
}

function drawExports() {
  const base = state.file.name.replace(/\.[^.]+$/, "") || "transcript";
  $("export-buttons").replaceChildren(...EXPORTS.map(([format, extension]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = format.toUpperCase().replace("_", " ");
    button.dataset.format = format;
    button.addEventListener("click", async () => {
      try {
        const response = await api(`${state.job.result_url}?response_format=${format}`);
        const link = document.createElement("a");
        link.href = URL.createObjectURL(await response.blob());
        link.download = `${base}.${extension}`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      } catch (error) {
        showError(error.message);
      }
    });
    return button;
  }));
}

// Highlight the word (and segment) being spoken.
$("player").addEventListener("timeupdate", () => {
  const now = $("player").currentTime;
  for (const span of state.words) {
    span.classList.toggle("now", now >= Number(span.dataset.start) && now < Number(span.dataset.end));
  }
  for (const item of $("segments").children) {
    item.classList.toggle("current", now >= Number(item.dataset.start) && now < Number(item.dataset.end));
  }
});

start();
