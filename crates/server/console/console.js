// The Voxprint web console's script, served at /console/console.js (no inline scripts or event
// handler attributes: the console's Content-Security-Policy allows none).
"use strict";
const PAGE_SIZE = 10;
const $ = (id) => document.getElementById(id);
const state = { me: null, groupsPage: 1, group: null, featuresPage: 1, recorded: { enroll: null, identify: null } };

function token() { return sessionStorage.getItem("voxprint-token"); }

function showError(err) {
  const box = $("error");
  if (!err) { box.style.display = "none"; box.textContent = ""; return; }
  box.textContent = err.code ? `Error ${err.code}: ${err.msg}` + (err.logid ? ` (logid ${err.logid})` : "") : String(err.message || err);
  box.style.display = "block";
}

/** Calls the API; resolves to `data` or rejects with {code, msg, logid}. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  let response;
  try { response = await fetch(path, { method, headers, body: payload }); }
  catch (e) { throw { code: 0, msg: `cannot reach the server: ${e.message}` }; }
  let json;
  try { json = await response.json(); } catch { throw { code: response.status, msg: `unexpected ${response.status} response` }; }
  if (json.code !== 0) throw { code: json.code, msg: json.msg, logid: json.detail && json.detail.logid };
  return json.data;
}

function run(action) {
  return async (...args) => {
    showError(null);
    try { await action(...args); } catch (err) { showError(err); }
  };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

function date(unix) { return new Date(unix * 1000).toLocaleString(); }

function show(view) {
  for (const id of ["signin-view", "groups-view", "group-view", "identify-view"]) $(id).classList.add("hidden");
  for (const id of view) $(id).classList.remove("hidden");
}

// Sign in and out.
async function signIn(value) {
  sessionStorage.setItem("voxprint-token", value.trim());
  try { state.me = await api("GET", "/v1/users/me"); }
  catch (err) { sessionStorage.removeItem("voxprint-token"); throw err; }
  $("whoami").textContent = state.me.nick_name || state.me.user_name;
  $("sign-out").classList.remove("hidden");
  $("token").value = "";
  await openGroups();
}

function signOut() {
  sessionStorage.removeItem("voxprint-token");
  state.me = null;
  $("whoami").textContent = "";
  $("sign-out").classList.add("hidden");
  show(["signin-view"]);
}

// Groups.
async function openGroups() {
  state.group = null;
  show(["groups-view"]);
  await loadGroups();
}

async function loadGroups() {
  const params = new URLSearchParams({ page_num: state.groupsPage, page_size: PAGE_SIZE });
  const prefix = $("group-search").value.trim();
  if (prefix) params.set("name", prefix);
  if ($("group-scope").value === "mine") params.set("user_id", state.me.user_id);
  const data = await api("GET", `/v1/audio/voiceprint_groups?${params}`);
  const body = $("groups");
  body.replaceChildren();
  for (const group of data.items) {
    body.append(el("tr", { dataset: { groupId: group.id } },
      el("td", {}, el("a", { href: "#", onclick: run((e) => { e.preventDefault(); return openGroup(group); }) }, group.name)),
      el("td", { class: "hide-narrow muted" }, group.desc),
      el("td", {}, String(group.feature_count)),
      el("td", { class: "hide-narrow muted" }, date(group.created_at)),
      el("td", { class: "actions" },
        el("button", { class: "secondary", onclick: run(() => renameGroup(group)) }, "Rename"), " ",
        el("button", { class: "danger", onclick: run(() => deleteGroup(group)) }, "Delete"))));
  }
  if (data.items.length === 0) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No groups.")));
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  $("groups-page").textContent = `Page ${state.groupsPage} of ${pages} · ${data.total} groups`;
  $("groups-prev").disabled = state.groupsPage <= 1;
  $("groups-next").disabled = state.groupsPage >= pages;
}

async function createGroup() {
  const name = $("new-group-name").value.trim();
  const desc = $("new-group-desc").value;
  await api("POST", "/v1/audio/voiceprint_groups", desc ? { name, desc } : { name });
  $("new-group-name").value = ""; $("new-group-desc").value = "";
  state.groupsPage = 1;
  await loadGroups();
}

async function renameGroup(group) {
  const name = prompt("New name of the group", group.name);
  if (name === null || name.trim() === group.name) return;
  await api("PUT", `/v1/audio/voiceprint_groups/${group.id}`, { name });
  await loadGroups();
}

async function deleteGroup(group) {
  if (!confirm(`Delete the group "${group.name}" and its ${group.feature_count} voiceprints?`)) return;
  await api("DELETE", `/v1/audio/voiceprint_groups/${group.id}`);
  await loadGroups();
}

// One group: its voiceprints and identification.
async function openGroup(group) {
  state.group = group;
  state.featuresPage = 1;
  $("group-title").textContent = group.name;
  $("verdict").textContent = ""; $("chart").replaceChildren();
  show(["group-view", "identify-view"]);
  await loadFeatures();
}

async function loadFeatures() {
  const params = new URLSearchParams({ page_num: state.featuresPage, page_size: PAGE_SIZE });
  const data = await api("GET", `/v1/audio/voiceprint_groups/${state.group.id}/features?${params}`);
  const body = $("features");
  body.replaceChildren();
  for (const feature of data.items) {
    const replace = el("input", { type: "file", accept: "audio/*", class: "hidden" });
    replace.addEventListener("change", run(() => updateFeature(feature, { file: replace.files[0] })));
    body.append(el("tr", { dataset: { featureId: feature.id } },
      el("td", {}, feature.name),
      el("td", { class: "hide-narrow muted" }, feature.desc),
      el("td", {}, el("audio", { controls: "", preload: "none", src: feature.audio_url })),
      el("td", { class: "actions" },
        el("button", { class: "secondary", onclick: run(() => renameFeature(feature)) }, "Rename"), " ",
        el("button", { class: "secondary", onclick: () => replace.click() }, "Replace"), " ",
        el("button", { class: "secondary", onclick: run((e) => toggleRecording(e.currentTarget, (wav) =>
          updateFeature(feature, { file: new File([wav], "recording.wav", { type: "audio/wav" }) }))) }, "● Re-record"), " ",
        el("button", { class: "danger", onclick: run(() => deleteFeature(feature)) }, "Delete"), replace)));
  }
  if (data.items.length === 0) body.append(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No voiceprints yet: enroll one below.")));
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  $("features-page").textContent = `Page ${state.featuresPage} of ${pages} · ${data.total} voiceprints`;
  $("features-prev").disabled = state.featuresPage <= 1;
  $("features-next").disabled = state.featuresPage >= pages;
}

/** The clip to send: a chosen file, else the last recording. */
function clip(kind) {
  const input = $(`${kind}-file`);
  if (input.files.length) return { blob: input.files[0], name: input.files[0].name };
  if (state.recorded[kind]) return { blob: state.recorded[kind], name: "recording.wav" };
  throw { code: 4300, msg: "choose an audio file or record a clip first" };
}

async function enroll() {
  const form = new FormData();
  const { blob, name } = clip("enroll");
  form.append("name", $("enroll-name").value.trim());
  if ($("enroll-desc").value) form.append("desc", $("enroll-desc").value);
  form.append("file", blob, name);
  $("enroll-warnings").replaceChildren();
  const data = await api("POST", `/v1/audio/voiceprint_groups/${state.group.id}/features`, form);
  // What to fix in the recording, if anything: the voiceprint is enrolled either way.
  $("enroll-warnings").replaceChildren(...(data.quality?.warnings ?? []).map((w) => el("li", {}, w)));
  $("enroll-name").value = ""; $("enroll-desc").value = ""; $("enroll-file").value = "";
  state.recorded.enroll = null; $("enroll-recorded").textContent = "";
  await loadFeatures();
}

async function updateFeature(feature, { name, file }) {
  const form = new FormData();
  if (name !== undefined) form.append("name", name);
  if (file) form.append("file", file, file.name || "recording.wav");
  await api("PUT", `/v1/audio/voiceprint_groups/${state.group.id}/features/${feature.id}`, form);
  await loadFeatures();
}

async function renameFeature(feature) {
  const name = prompt("New name of the voiceprint", feature.name);
  if (name === null || name.trim() === feature.name) return;
  await updateFeature(feature, { name });
}

async function deleteFeature(feature) {
  if (!confirm(`Delete the voiceprint "${feature.name}"?`)) return;
  await api("DELETE", `/v1/audio/voiceprint_groups/${state.group.id}/features/${feature.id}`);
  await loadFeatures();
}

async function identify() {
  const form = new FormData();
  const { blob, name } = clip("identify");
  form.append("file", blob, name);
  const data = await api("POST", `/v1/audio/voiceprint_groups/${state.group.id}/speaker_identify`, form);
  renderScores(data);
}

/**
 * A ranked bar chart of scores with the threshold marked, and the verdict above it. The decision
 * is the server's (`threshold`, and `matched` per voiceprint), so the page and the API agree.
 */
function renderScores({ feature_score_list: scores, threshold }) {
  const chart = $("chart");
  chart.replaceChildren();
  const best = scores[0];
  const verdict = $("verdict");
  if (!best) verdict.textContent = "The group has no voiceprints yet.";
  else if (best.matched) verdict.textContent = `Best match: ${best.feature_name} (${best.score.toFixed(1)})`;
  else verdict.textContent = `Unknown speaker (best: ${best.feature_name}, ${best.score.toFixed(1)} < ${threshold})`;
  verdict.style.color = best && best.matched ? "var(--ok)" : "var(--danger)";
  scores.forEach((score, index) => {
    const bar = el("div", { class: index === 0 && score.matched ? "bar best" : "bar" });
    bar.style.width = `${Math.max(0, Math.min(100, score.score))}%`;
    const marker = el("div", { class: "threshold", title: `threshold ${threshold}` });
    marker.style.left = `${threshold}%`;
    chart.append(el("div", { class: "bar-row", dataset: { featureId: score.feature_id } },
      el("span", {}, score.feature_name), el("div", { class: "bar-track" }, bar, marker), el("span", {}, score.score.toFixed(1))));
  });
}

// Recording from the microphone, encoded as 16-bit PCM WAV in the page (the server decodes WAV;
// browsers' own recorders produce Opus, which it does not).
let stopRecording = null;

async function startRecording() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const processor = context.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  processor.onaudioprocess = (event) => chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
  source.connect(processor); processor.connect(context.destination);
  return new Promise((resolve) => {
    stopRecording = () => {
      processor.disconnect(); source.disconnect(); stream.getTracks().forEach((t) => t.stop());
      const rate = context.sampleRate; context.close(); stopRecording = null;
      resolve(encodeWav(chunks, rate));
    };
  });
}

function encodeWav(chunks, rate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const buffer = new ArrayBuffer(44 + length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + length * 2, true); text(8, "WAVEfmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, length * 2, true);
  let offset = 44;
  for (const chunk of chunks) for (const sample of chunk) {
    view.setInt16(offset, Math.max(-1, Math.min(1, sample)) * 0x7fff, true); offset += 2;
  }
  const blob = new Blob([buffer], { type: "audio/wav" });
  blob.seconds = length / rate;
  return blob;
}

/** A record button: the first press starts recording, the second stops it and hands the WAV
 *  to `done`. One recording at a time. */
async function toggleRecording(button, done) {
  if (stopRecording) { stopRecording(); return; }
  if (!navigator.mediaDevices) throw { code: 0, msg: "this browser gives no microphone access (it needs https or localhost)" };
  const label = button.textContent;
  const recording = startRecording();
  button.textContent = "■ Stop"; button.classList.add("recording");
  try { await done(await recording); }
  finally { button.textContent = label; button.classList.remove("recording"); }
}

function recordButton(kind) {
  const button = $(`${kind}-record`);
  button.addEventListener("click", run(() => toggleRecording(button, (wav) => {
    state.recorded[kind] = wav;
    $(`${kind}-file`).value = "";
    $(`${kind}-recorded`).textContent = `recorded ${wav.seconds.toFixed(1)} s`;
  })));
}

// Wiring.
$("sign-in").addEventListener("click", run(() => signIn($("token").value)));
$("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("sign-in").click(); });
$("sign-out").addEventListener("click", signOut);
$("create-group").addEventListener("click", run(createGroup));
$("group-search").addEventListener("input", run(() => { state.groupsPage = 1; return loadGroups(); }));
$("group-scope").addEventListener("change", run(() => { state.groupsPage = 1; return loadGroups(); }));
$("groups-prev").addEventListener("click", run(() => { state.groupsPage--; return loadGroups(); }));
$("groups-next").addEventListener("click", run(() => { state.groupsPage++; return loadGroups(); }));
$("features-prev").addEventListener("click", run(() => { state.featuresPage--; return loadFeatures(); }));
$("features-next").addEventListener("click", run(() => { state.featuresPage++; return loadFeatures(); }));
$("back").addEventListener("click", run(openGroups));
$("enroll").addEventListener("click", run(enroll));
$("identify").addEventListener("click", run(identify));
recordButton("enroll");
recordButton("identify");
if (token()) run(() => signIn(token()))(); else show(["signin-view"]);
