// The Voxprint web console's script, served at /console/console.js (no inline scripts or event
// handler attributes: the console's Content-Security-Policy allows none).
"use strict";
const PAGE_SIZE = 10;
const AUDIO_FILES = "audio/*,.wav,.pcm,.mp3,.flac,.ogg,.m4a,.opus,.webm";
const $ = (id) => document.getElementById(id);
const state = { me: null, groupsPage: 1, group: null, featuresPage: 1, panel: null };

// Every text the page shows, one dictionary per language. Values are strings with {name}
// placeholders, or functions of the placeholders where the grammar needs more (plurals).
// Server error messages and quality warnings are shown as the server words them (English).
const MESSAGES = {
  en: {
    title: "Voxprint console",
    language: "Language",
    signIn: "Sign in",
    signOut: "Sign out",
    tokenHint: "Paste an access token (pat_…). It is kept in this browser tab only and cleared on sign-out.",
    groups: "Voiceprint groups",
    openCompare: "Compare two clips",
    nameStartsWith: "Name starts with…",
    scopeAll: "All of my team",
    scopeMine: "Mine",
    name: "Name",
    description: "Description",
    voiceprints: "Voiceprints",
    created: "Created",
    recording: "Recording",
    previous: "‹ Previous",
    next: "Next ›",
    groupsPage: "Page {page} of {pages} · {total} groups",
    noGroups: "No groups.",
    rename: "Rename",
    replace: "Replace",
    reRecord: "● Re-record",
    delete: "Delete",
    newGroup: "New group",
    namePlaceholder: "Name (1–20 characters)",
    descPlaceholder: "Description (optional)",
    create: "Create",
    allGroups: "‹ All groups",
    featuresPage: "Page {page} of {pages} · {total} voiceprints",
    noFeatures: "No voiceprints yet: enroll one below.",
    sampleCount: ({ count }) => (count === 1 ? "1 sample" : `${count} samples`),
    enrollHeading: "Enroll a voiceprint",
    enroll: "Enroll",
    identifyHeading: "Who is speaking?",
    identifyHint: "Upload or record a clip of one speaker; every voiceprint of the group is scored against the server's decision threshold.",
    identify: "Identify",
    chooseFile: "Choose a file",
    record: "● Record",
    stop: "■ Stop",
    recorded: "recorded {seconds} s",
    emptyGroup: "The group has no voiceprints yet.",
    bestMatch: "Best match: {name} ({score})",
    unknownSpeaker: "Unknown speaker (best: {name}, {score} < {threshold})",
    thresholdMark: "threshold {threshold}",
    verify: "Verify",
    verifyHint: "Is this {name}? Upload or record a clip.",
    sameSpeaker: "Same speaker (score {score}, threshold {threshold})",
    differentSpeaker: "Different speaker (score {score} < {threshold})",
    samples: "Samples",
    samplesHint: "The recordings {name}'s voiceprint is made from. Add one to make it more robust.",
    addSample: "Add sample",
    speechSeconds: "{seconds} s of speech",
    qualityUnknown: "not measured",
    compareHeading: "Compare two clips",
    compareHint: "Are two clips the same speaker? Upload or record each.",
    firstClip: "First clip",
    secondClip: "Second clip",
    compare: "Compare",
    clipQuality: "{seconds} s of speech, SNR {snr} dB",
    renamePromptGroup: "New name of the group",
    renamePromptFeature: "New name of the voiceprint",
    confirmDeleteGroup: "Delete the group \"{name}\" and its {count} voiceprints?",
    confirmDeleteFeature: "Delete the voiceprint \"{name}\"?",
    confirmDeleteSample: "Delete this sample of \"{name}\"?",
    apiError: "Error {code}: {msg}",
    apiErrorLogid: "Error {code}: {msg} (logid {logid})",
    unreachable: "Cannot reach the server: {reason}",
    unexpectedResponse: "Unexpected {status} response from the server.",
    noClip: "Choose an audio file or record a clip first.",
    noMicrophone: "This browser gives no microphone access (it needs https or localhost).",
    backToGroup: "‹ {name}",
    diarizeHeading: "Who spoke when",
    diarizeHint: "Upload a recording of several speakers (a meeting, a call): the server splits it into who spoke when and names the speakers enrolled in this group.",
    maxSpeakers: "Max speakers (optional)",
    diarize: "Find speakers",
    timelineHint: "One colour per speaker, striped if not enrolled in the group. Click a segment to play it.",
    speakers: "Speakers",
    speaker: "Speaker",
    voiceprint: "Voiceprint",
    speech: "Speech",
    notEnrolled: "not enrolled",
    seconds: "{seconds} s",
    segments: "Segments",
    segmentStart: "Start",
    segmentEnd: "End",
    score: "Score",
    liveHeading: "Live",
    liveHint: "Streams the microphone to the server, which says who is speaking about twice a second.",
    startLive: "● Start",
    liveIdle: "Not connected",
    liveConnecting: "Connecting…",
    liveListening: "Connected, listening",
    liveStopping: "Stopping…",
    liveClosed: "Disconnected",
    liveSilence: "Silence",
    liveSpeech: "Someone is speaking…",
    speakingAs: "Speaking: {name}",
    liveUnknown: "Unknown speaker",
    liveScore: "score {score}, threshold {threshold}",
    secondsAgo: "{seconds} s ago",
    now: "now",
    liveLost: "The live stream ended unexpectedly (close code {code}).",
  },
  "zh-CN": {
    title: "Voxprint 控制台",
    language: "语言",
    signIn: "登录",
    signOut: "退出登录",
    tokenHint: "粘贴访问令牌（pat_…）。令牌只保存在当前浏览器标签页中，退出登录时清除。",
    groups: "声纹组",
    openCompare: "比对两段录音",
    nameStartsWith: "名称开头为…",
    scopeAll: "我团队的全部",
    scopeMine: "我的",
    name: "名称",
    description: "描述",
    voiceprints: "声纹",
    created: "创建时间",
    recording: "录音",
    previous: "‹ 上一页",
    next: "下一页 ›",
    groupsPage: "第 {page} / {pages} 页 · 共 {total} 个组",
    noGroups: "没有声纹组。",
    rename: "重命名",
    replace: "替换",
    reRecord: "● 重新录音",
    delete: "删除",
    newGroup: "新建声纹组",
    namePlaceholder: "名称（1–20 个字符）",
    descPlaceholder: "描述（可选）",
    create: "创建",
    allGroups: "‹ 全部声纹组",
    featuresPage: "第 {page} / {pages} 页 · 共 {total} 个声纹",
    noFeatures: "还没有声纹：请在下方注册。",
    sampleCount: ({ count }) => `${count} 个样本`,
    enrollHeading: "注册声纹",
    enroll: "注册",
    identifyHeading: "谁在说话？",
    identifyHint: "上传或录制一段单人说话的录音；组内每个声纹都会打分，并与服务器的判定阈值比较。",
    identify: "识别",
    chooseFile: "选择文件",
    record: "● 录音",
    stop: "■ 停止",
    recorded: "已录制 {seconds} 秒",
    emptyGroup: "该组还没有声纹。",
    bestMatch: "最佳匹配：{name}（{score}）",
    unknownSpeaker: "未知说话人（最接近：{name}，{score} < {threshold}）",
    thresholdMark: "阈值 {threshold}",
    verify: "验证",
    verifyHint: "这是{name}吗？上传或录制一段录音。",
    sameSpeaker: "同一说话人（得分 {score}，阈值 {threshold}）",
    differentSpeaker: "不同说话人（得分 {score} < {threshold}）",
    samples: "样本",
    samplesHint: "{name}的声纹由这些录音生成。添加样本可以让它更稳定。",
    addSample: "添加样本",
    speechSeconds: "语音 {seconds} 秒",
    qualityUnknown: "未测量",
    compareHeading: "比对两段录音",
    compareHint: "两段录音是同一个人说的吗？请分别上传或录制。",
    firstClip: "第一段录音",
    secondClip: "第二段录音",
    compare: "比对",
    clipQuality: "语音 {seconds} 秒，信噪比 {snr} dB",
    renamePromptGroup: "声纹组的新名称",
    renamePromptFeature: "声纹的新名称",
    confirmDeleteGroup: "删除声纹组“{name}”及其 {count} 个声纹？",
    confirmDeleteFeature: "删除声纹“{name}”？",
    confirmDeleteSample: "删除“{name}”的这个样本？",
    apiError: "错误 {code}：{msg}",
    apiErrorLogid: "错误 {code}：{msg}（logid {logid}）",
    unreachable: "无法连接服务器：{reason}",
    unexpectedResponse: "服务器返回了意外的 {status} 响应。",
    noClip: "请先选择音频文件或录制一段录音。",
    noMicrophone: "此浏览器无法使用麦克风（需要 https 或 localhost）。",
    backToGroup: "‹ {name}",
    diarizeHeading: "谁在何时说话",
    diarizeHint: "上传一段多人说话的录音（会议、通话）：服务器会分出谁在何时说话，并认出本组已注册的说话人。",
    maxSpeakers: "最多说话人数（可选）",
    diarize: "区分说话人",
    timelineHint: "每位说话人一种颜色，未在本组注册的带斜纹。点击片段即可播放。",
    speakers: "说话人",
    speaker: "说话人",
    voiceprint: "声纹",
    speech: "语音",
    notEnrolled: "未注册",
    seconds: "{seconds} 秒",
    segments: "片段",
    segmentStart: "开始",
    segmentEnd: "结束",
    score: "得分",
    liveHeading: "实时识别",
    liveHint: "把麦克风的声音实时发送到服务器，约每半秒告诉你是谁在说话。",
    startLive: "● 开始",
    liveIdle: "未连接",
    liveConnecting: "正在连接…",
    liveListening: "已连接，正在收听",
    liveStopping: "正在停止…",
    liveClosed: "已断开",
    liveSilence: "静音",
    liveSpeech: "有人在说话…",
    speakingAs: "正在说话：{name}",
    liveUnknown: "未知说话人",
    liveScore: "得分 {score}，阈值 {threshold}",
    secondsAgo: "{seconds} 秒前",
    now: "现在",
    liveLost: "实时连接意外中断（关闭代码 {code}）。",
  },
};
/** The languages offered, each named in itself. */
const LANGUAGES = { en: "English", "zh-CN": "简体中文" };
let language = "en";

function t(key, args = {}) {
  const text = MESSAGES[language][key];
  return typeof text === "function" ? text(args) : text.replace(/\{(\w+)\}/g, (_, name) => args[name] ?? "");
}

/** The user's choice if they made one, else the first of the browser's languages we speak. */
function preferredLanguage() {
  const chosen = localStorage.getItem("voxprint-language");
  if (Object.hasOwn(LANGUAGES, chosen)) return chosen;
  for (const tag of navigator.languages ?? [navigator.language]) {
    if (/^zh\b/i.test(tag)) return "zh-CN";
    if (/^en\b/i.test(tag)) return "en";
  }
  return "en";
}

/** Writes the texts of `node` and its descendants in the current language. Elements name their
 *  text by key (data-i18n, with data-i18n-args), and so placeholders and titles; dates
 *  (data-date, Unix seconds) are written the language's way. Switching languages re-runs this on
 *  the whole page, so everything shown is kept as a key rather than as text. */
function translate(node) {
  for (const each of [node, ...node.querySelectorAll("[data-i18n], [data-i18n-placeholder], [data-i18n-title], [data-date]")]) {
    const { i18n, i18nArgs, i18nPlaceholder, i18nTitle, date } = each.dataset;
    const args = i18nArgs ? JSON.parse(i18nArgs) : {};
    if (i18n) each.textContent = t(i18n, args);
    if (i18nPlaceholder) each.placeholder = t(i18nPlaceholder);
    if (i18nTitle) each.title = t(i18nTitle, args);
    if (date) each.textContent = new Date(date * 1000).toLocaleString(language);
  }
}

/** Shows the text `key` (with `args`) in `node`, or nothing when `key` is null. */
function setText(node, key, args) {
  delete node.dataset.i18n; delete node.dataset.i18nArgs;
  node.textContent = "";
  if (!key) return;
  node.dataset.i18n = key;
  if (args) node.dataset.i18nArgs = JSON.stringify(args);
  translate(node);
}

function setLanguage(chosen) {
  language = chosen;
  document.documentElement.lang = chosen;
  document.title = t("title");
  $("language").value = chosen;
  translate(document.body);
}

function token() { return sessionStorage.getItem("voxprint-token"); }

/** An error the page itself finds, shown in the user's language. */
function pageError(key, args) { return { key, args }; }

/** Shows an error: the API's `{code, msg, logid}` (its message as the server words it), one of the
 *  page's own, or whatever the browser threw. */
function showError(err) {
  const box = $("error");
  if (!err) { box.style.display = "none"; setText(box, null); return; }
  if (err.key) setText(box, err.key, err.args);
  else if (err.msg !== undefined) setText(box, err.logid ? "apiErrorLogid" : "apiError", err);
  else { setText(box, null); box.textContent = String(err.message || err); }
  box.style.display = "block";
}

/** Calls the API; resolves to `data` or rejects with {code, msg, logid} or a page error. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  let response;
  try { response = await fetch(path, { method, headers, body: payload }); }
  catch (e) { throw pageError("unreachable", { reason: e.message }); }
  let json;
  try { json = await response.json(); } catch { throw pageError("unexpectedResponse", { status: response.status }); }
  if (json.code !== 0) throw { code: json.code, msg: json.msg, logid: json.detail && json.detail.logid };
  return json.data;
}

function run(action) {
  return async (...args) => {
    showError(null);
    try { await action(...args); } catch (err) { showError(err); }
  };
}

/** An element. Besides attributes, `attrs` takes `on…` listeners, `dataset`, and the text keys
 *  `i18n` (with `args`), `i18nTitle` and `date` that `translate` writes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "i18n" || key === "i18nTitle" || key === "date") node.dataset[key] = value;
    else if (key === "args") node.dataset.i18nArgs = JSON.stringify(value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  translate(node);
  return node;
}

function show(view) {
  stopLive(); // the microphone stays on only while its page shows
  for (const id of ["signin-view", "groups-view", "group-view", "identify-view", "compare-view", "diarize-view", "live-view"]) {
    $(id).classList.add("hidden");
  }
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
      el("td", { class: "hide-narrow muted", date: group.created_at }),
      el("td", { class: "actions" },
        el("button", { class: "secondary", i18n: "rename", onclick: run(() => renameGroup(group)) }), " ",
        el("button", { class: "danger", i18n: "delete", onclick: run(() => deleteGroup(group)) }))));
  }
  if (data.items.length === 0) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted", i18n: "noGroups" })));
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  setText($("groups-page"), "groupsPage", { page: state.groupsPage, pages, total: data.total });
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
  const name = prompt(t("renamePromptGroup"), group.name);
  if (name === null || name.trim() === group.name) return;
  await api("PUT", `/v1/audio/voiceprint_groups/${group.id}`, { name });
  await loadGroups();
}

async function deleteGroup(group) {
  if (!confirm(t("confirmDeleteGroup", { name: group.name, count: group.feature_count }))) return;
  await api("DELETE", `/v1/audio/voiceprint_groups/${group.id}`);
  await loadGroups();
}

// One group: its voiceprints, each with a panel to verify a clip against it or to manage its
// samples (one panel open at a time, kept open across reloads of the list), and identification.
async function openGroup(group) {
  state.group = group;
  state.featuresPage = 1;
  state.panel = null;
  $("group-title").textContent = group.name;
  setText($("verdict"), null); $("chart").replaceChildren();
  show(["group-view", "identify-view"]);
  await loadFeatures();
}

function featurePath(feature) { return `/v1/audio/voiceprint_groups/${state.group.id}/features/${feature.id}`; }

async function loadFeatures() {
  const params = new URLSearchParams({ page_num: state.featuresPage, page_size: PAGE_SIZE });
  const data = await api("GET", `/v1/audio/voiceprint_groups/${state.group.id}/features?${params}`);
  // Built before it replaces the list, the open panel's content included, so that the list
  // never shows without its panel while that loads.
  const rows = [];
  for (const feature of data.items) {
    const replace = el("input", { type: "file", accept: AUDIO_FILES, class: "hidden" });
    replace.addEventListener("change", run(() => updateFeature(feature, { file: replace.files[0] })));
    rows.push(el("tr", { dataset: { featureId: feature.id } },
      el("td", {}, el("span", {}, feature.name),
        el("div", { class: "muted", "data-testid": "sample-count", i18n: "sampleCount", args: { count: feature.sample_count } })),
      el("td", { class: "hide-narrow muted" }, feature.desc),
      el("td", {}, el("audio", { controls: "", preload: "none", src: feature.audio_url })),
      el("td", { class: "actions" },
        el("button", { class: "secondary", "data-testid": "verify-open", i18n: "verify", onclick: run(() => togglePanel(feature, "verify")) }), " ",
        el("button", { class: "secondary", "data-testid": "samples-open", i18n: "samples", onclick: run(() => togglePanel(feature, "samples")) }), " ",
        el("button", { class: "secondary", i18n: "rename", onclick: run(() => renameFeature(feature)) }), " ",
        el("button", { class: "secondary", i18n: "replace", onclick: () => replace.click() }), " ",
        el("button", { class: "secondary", i18n: "reRecord", onclick: run((e) => toggleRecording(e.currentTarget, (recording) =>
          updateFeature(feature, { file: recording.file }))) }), " ",
        el("button", { class: "danger", i18n: "delete", onclick: run(() => deleteFeature(feature)) }), replace)));
    if (state.panel?.featureId === feature.id) rows.push(await panelRow(feature));
  }
  if (data.items.length === 0) rows.push(el("tr", {}, el("td", { colspan: 4, class: "muted", i18n: "noFeatures" })));
  $("features").replaceChildren(...rows);
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  setText($("features-page"), "featuresPage", { page: state.featuresPage, pages, total: data.total });
  $("features-prev").disabled = state.featuresPage <= 1;
  $("features-next").disabled = state.featuresPage >= pages;
}

async function togglePanel(feature, kind) {
  const same = state.panel?.featureId === feature.id && state.panel.kind === kind;
  state.panel = same ? null : { featureId: feature.id, kind };
  $("features").querySelector("tr.panel")?.remove();
  if (same) return;
  const panel = await panelRow(feature);
  if (state.panel?.featureId !== feature.id || state.panel.kind !== kind) return; // pressed again meanwhile
  $("features").querySelector(`tr[data-feature-id="${CSS.escape(feature.id)}"]`).after(panel);
}

/** The open panel, a row to go below `feature`'s. */
async function panelRow(feature) {
  const cell = el("td", { colspan: 4 });
  if (state.panel.kind === "verify") fillVerifyPanel(cell, feature);
  else await fillSamplesPanel(cell, feature);
  return el("tr", { class: "panel", "data-testid": `${state.panel.kind}-panel` }, cell);
}

function fillVerifyPanel(cell, feature) {
  const picker = clipPicker("verify");
  const verdict = el("div", { class: "verdict", "data-testid": "verify-verdict" });
  const verify = async () => {
    const form = new FormData();
    form.append("file", picker.clip());
    showVerdict(verdict, await api("POST", `${featurePath(feature)}/verify`, form));
  };
  cell.append(el("p", { class: "muted", i18n: "verifyHint", args: { name: feature.name } }),
    el("div", { class: "row" }, ...picker.nodes, el("button", { "data-testid": "verify", i18n: "verify", onclick: run(verify) })),
    verdict);
}

async function fillSamplesPanel(cell, feature) {
  const data = await api("GET", `${featurePath(feature)}/samples`);
  const picker = clipPicker("sample");
  const addSample = async () => {
    const form = new FormData();
    form.append("file", picker.clip());
    const added = await api("POST", `${featurePath(feature)}/samples`, form);
    // What to fix in the recording, if anything, shown in the panel redrawn with the new sample.
    state.panel.quality = added.quality;
    await loadFeatures();
  };
  cell.append(el("p", { class: "muted", i18n: "samplesHint", args: { name: feature.name } }),
    el("ul", { class: "samples", "data-testid": "samples" }, ...data.items.map((sample) =>
      el("li", { "data-testid": "sample", dataset: { sampleId: sample.id } },
        el("audio", { controls: "", preload: "none", src: sample.audio_url }),
        sample.quality
          ? el("span", { class: "muted", i18n: "speechSeconds", args: { seconds: sample.quality.speech_seconds.toFixed(1) } })
          : el("span", { class: "muted", i18n: "qualityUnknown" }),
        el("span", { class: "muted", date: sample.created_at }),
        el("button", { class: "danger", "data-testid": "delete-sample", i18n: "delete", onclick: run(() => deleteSample(feature, sample)) })))),
    el("div", { class: "row" }, ...picker.nodes, el("button", { "data-testid": "add-sample", i18n: "addSample", onclick: run(addSample) })),
    el("ul", { class: "muted", "data-testid": "sample-warnings" }, ...warningItems(state.panel.quality)));
}

async function deleteSample(feature, sample) {
  if (!confirm(t("confirmDeleteSample", { name: feature.name }))) return;
  await api("DELETE", `${featurePath(feature)}/samples/${sample.id}`);
  await loadFeatures();
}

function warningItems(quality) { return (quality?.warnings ?? []).map((warning) => el("li", {}, warning)); }

async function enroll() {
  const form = new FormData();
  form.append("name", $("enroll-name").value.trim());
  if ($("enroll-desc").value) form.append("desc", $("enroll-desc").value);
  form.append("file", pickers.enroll.clip());
  $("enroll-warnings").replaceChildren();
  const data = await api("POST", `/v1/audio/voiceprint_groups/${state.group.id}/features`, form);
  // What to fix in the recording, if anything: the voiceprint is enrolled either way.
  $("enroll-warnings").replaceChildren(...warningItems(data.quality));
  $("enroll-name").value = ""; $("enroll-desc").value = "";
  pickers.enroll.clear();
  await loadFeatures();
}

async function updateFeature(feature, { name, file }) {
  const form = new FormData();
  if (name !== undefined) form.append("name", name);
  if (file) form.append("file", file);
  await api("PUT", featurePath(feature), form);
  await loadFeatures();
}

async function renameFeature(feature) {
  const name = prompt(t("renamePromptFeature"), feature.name);
  if (name === null || name.trim() === feature.name) return;
  await updateFeature(feature, { name });
}

async function deleteFeature(feature) {
  if (!confirm(t("confirmDeleteFeature", { name: feature.name }))) return;
  await api("DELETE", featurePath(feature));
  await loadFeatures();
}

async function identify() {
  const form = new FormData();
  form.append("file", pickers.identify.clip());
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
  if (!best) setText(verdict, "emptyGroup");
  else if (best.matched) setText(verdict, "bestMatch", { name: best.feature_name, score: best.score.toFixed(1) });
  else setText(verdict, "unknownSpeaker", { name: best.feature_name, score: best.score.toFixed(1), threshold });
  verdict.dataset.matched = Boolean(best && best.matched);
  scores.forEach((score, index) => {
    const bar = el("div", { class: index === 0 && score.matched ? "bar best" : "bar" });
    bar.style.width = `${Math.max(0, Math.min(100, score.score))}%`;
    const marker = el("div", { class: "threshold", i18nTitle: "thresholdMark", args: { threshold } });
    marker.style.left = `${threshold}%`;
    chart.append(el("div", { class: "bar-row", dataset: { featureId: score.feature_id } },
      el("span", {}, score.feature_name), el("div", { class: "bar-track" }, bar, marker), el("span", {}, score.score.toFixed(1))));
  });
}

/** "Same speaker" or "Different speaker" as the server decided, with the score and threshold. */
function showVerdict(node, { score, threshold, matched }) {
  setText(node, matched ? "sameSpeaker" : "differentSpeaker", { score: score.toFixed(1), threshold });
  node.dataset.matched = matched;
}

// Comparing two clips, in no group.
function openCompare() {
  show(["compare-view"]);
}

async function compare() {
  const form = new FormData();
  form.append("file", pickers.compareFirst.clip());
  form.append("file2", pickers.compareSecond.clip());
  const data = await api("POST", "/v1/audio/voiceprints/compare", form);
  showVerdict($("compare-verdict"), data);
  const clipQuality = (label, quality) => el("li", { "data-testid": "clip-quality" },
    el("strong", { i18n: label }), " ",
    el("span", { i18n: "clipQuality", args: { seconds: quality.speech_seconds.toFixed(1), snr: quality.snr_db.toFixed(1) } }),
    el("ul", { class: "muted" }, ...warningItems(quality)));
  $("compare-quality").replaceChildren(clipQuality("firstClip", data.quality), clipQuality("secondClip", data.quality2));
}

// Who spoke when: the server splits a recording of several speakers into segments, each named
// after the group's voiceprint it matches or labelled speaker_1, speaker_2, … The page shows them
// on a timeline of the recording, which plays from the uploaded file itself (an object URL).
function openGroupPage(view) {
  for (const node of document.querySelectorAll(".group-name")) node.textContent = state.group.name;
  for (const node of document.querySelectorAll(".group-back")) setText(node, "backToGroup", { name: state.group.name });
  show([view]);
}

function openDiarize() {
  openGroupPage("diarize-view");
  $("diarize-result").classList.add("hidden");
  pickers.diarize.clear();
}

/** One colour per speaker, in the order speakers appear, so a speaker keeps its colour. Those
 *  not enrolled are striped (class `unnamed`), so they stand apart from named ones whatever the
 *  colour. */
const SPEAKER_COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c2255c", "#5c940d"];

function paint(node, { index, named }) {
  node.style.backgroundColor = SPEAKER_COLOURS[index % SPEAKER_COLOURS.length];
  node.classList.toggle("unnamed", !named);
}

/** The stretch from `start` to `end` (seconds) on a timeline `length` seconds long, in its
 *  speaker's colour (grey while the speaker is not known yet). */
function timelineBar(tag, start, end, length, speaker, attrs = {}) {
  const bar = el(tag, { class: "segment", ...attrs });
  bar.style.left = `${(100 * start) / length}%`;
  bar.style.width = `${(100 * (end - start)) / length}%`;
  if (speaker) paint(bar, speaker); else bar.classList.add("pending");
  return bar;
}

/** A colour swatch and a name (text, or a text key), as the timelines' legends and tables show speakers. */
function speakerName(speaker, key) {
  const swatch = el("span", { class: "swatch" });
  paint(swatch, speaker);
  return el("span", { class: "speaker" }, swatch, key ? el("span", { i18n: key }) : speaker.label);
}

/** Seconds as m:ss.s, as media players show time. */
function clock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
}

/** The recording's duration once the audio element knows it, else NaN (a format it cannot play). */
function mediaDuration(audio) {
  return new Promise((resolve) => {
    if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) resolve(audio.duration);
    audio.addEventListener("loadedmetadata", () => resolve(audio.duration), { once: true });
    audio.addEventListener("error", () => resolve(NaN), { once: true });
    setTimeout(() => resolve(NaN), 3000);
  });
}

/** How many seconds the timeline spans. */
let diarizedLength = 0;

async function diarize() {
  const file = pickers.diarize.clip();
  const form = new FormData();
  form.append("file", file);
  const maxSpeakers = $("max-speakers").value.trim();
  if (maxSpeakers) form.append("max_speakers", maxSpeakers);
  const audio = $("diarize-audio");
  if (audio.src) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(file); // loads while the server works
  $("diarize-result").classList.add("hidden");
  const data = await api("POST", `/v1/audio/voiceprint_groups/${state.group.id}/speaker_diarize`, form);
  // The timeline spans the whole recording; the last segment's end if the browser cannot tell.
  const lastEnd = Math.max(0, ...data.segments.map((segment) => segment.end));
  const duration = await mediaDuration(audio);
  diarizedLength = Number.isFinite(duration) ? Math.max(duration, lastEnd) : lastEnd;
  renderDiarization(data, diarizedLength);
}

function renderDiarization({ segments, speakers }, length) {
  const byLabel = new Map(speakers.map((speaker, index) =>
    [speaker.label, { ...speaker, index, named: speaker.feature_id !== null }]));
  const play = (segment) => run(() => playSegment(segment));
  $("diarize-timeline").replaceChildren(el("div", { class: "playhead hidden" }), ...segments.map((segment) =>
    timelineBar("button", segment.start, segment.end, length, byLabel.get(segment.label), {
      type: "button", title: `${segment.label} ${clock(segment.start)}–${clock(segment.end)}`,
      "data-testid": "segment", dataset: { label: segment.label }, onclick: play(segment),
    })));
  $("diarize-legend").replaceChildren(...speakers.map((speaker) => el("li", {}, speakerName(byLabel.get(speaker.label)))));
  $("diarize-speakers").replaceChildren(...speakers.map((speaker) => el("tr", { dataset: { label: speaker.label } },
    el("td", {}, speakerName(byLabel.get(speaker.label))),
    speaker.feature_name === null ? el("td", { class: "muted", i18n: "notEnrolled" }) : el("td", {}, speaker.feature_name),
    el("td", { i18n: "seconds", args: { seconds: speaker.speech_seconds.toFixed(1) } }))));
  $("diarize-segments").replaceChildren(...segments.map((segment) => el("tr", {},
    el("td", {}, el("button", { class: "secondary play", onclick: play(segment) }, `▶ ${clock(segment.start)}`)),
    el("td", {}, clock(segment.end)),
    el("td", {}, speakerName(byLabel.get(segment.label))),
    el("td", {}, segment.score === null ? "–" : segment.score.toFixed(1)))));
  $("diarize-result").classList.remove("hidden");
}

/** Where playback of a segment stops; null when the player plays on as the user left it. */
let segmentEnd = null;

async function playSegment(segment) {
  const audio = $("diarize-audio");
  audio.currentTime = segment.start;
  await audio.play();
  segmentEnd = segment.end;
}

/** Pauses at the segment's end (timeupdate comes about every quarter second: close enough), and
 *  moves the playhead along the timeline. */
function followPlayback() {
  const audio = $("diarize-audio");
  if (segmentEnd !== null && audio.currentTime >= segmentEnd) { segmentEnd = null; audio.pause(); }
  const playhead = $("diarize-timeline").querySelector(".playhead");
  if (!playhead || !diarizedLength) return;
  playhead.classList.remove("hidden");
  playhead.style.left = `${(100 * audio.currentTime) / diarizedLength}%`;
}

// Live: the microphone streamed to the group's speaker_stream WebSocket as 16-bit PCM, and the
// server's events (speech_start, speaker about every 0.5 s, speech_end) shown as they come: who is
// speaking now, and a timeline of the last LIVE_WINDOW seconds. Times are seconds of audio since
// the stream started, the server's clock and ours alike (we count what we send).
const LIVE_WINDOW = 30;
/** The stream running or last run: its socket, microphone, what it has sent, what it has heard. */
let live = null;

function openLive() {
  openGroupPage("live-view");
  live = null;
  setText($("live-state"), "liveIdle");
  setLiveSpeaker(null);
  $("live-timeline").replaceChildren();
  $("live-legend").replaceChildren();
}

async function startLive() {
  if (live?.running) return;
  if (!navigator.mediaDevices || !window.AudioContext) throw pageError("noMicrophone");
  // The voice as it is: echo cancellation and noise suppression are made for calls, not voiceprints.
  const microphone = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  // The device's own rate (the server takes 8 to 48 kHz), else 48 kHz resampled by the browser.
  let context = new AudioContext();
  if (context.sampleRate > 48000) { context.close(); context = new AudioContext({ sampleRate: 48000 }); }
  // A browser cannot set headers on a WebSocket: the token travels as a subprotocol, and the
  // server answers with "voxprint" alone.
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/v1/audio/voiceprint_groups/${state.group.id}/speaker_stream`,
    ["voxprint", `bearer.${token()}`]);
  live = {
    running: true, socket, microphone, context, rate: context.sampleRate, ready: false, failed: false,
    sent: 0, pending: [], pendingSamples: 0, heard: 0, threshold: null,
    spans: [], open: null, speakers: new Map(),
  };
  const session = live;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ sample_rate: session.rate, channel: 1 })));
  socket.addEventListener("message", (message) => { if (typeof message.data === "string") onLiveEvent(session, JSON.parse(message.data)); });
  socket.addEventListener("close", (event) => onLiveClosed(session, event));
  streamMicrophone(session);
  setText($("live-state"), "liveConnecting");
  setLiveSpeaker(null);
  $("live-start").disabled = true; $("live-stop").disabled = false;
}

/** Sends the microphone, mono 16-bit little-endian PCM, about every 100 ms once the server is
 *  ready. A ScriptProcessorNode rather than an AudioWorklet: a worklet's module would be a
 *  script of its own to serve, and this is a few samples on the main thread. */
function streamMicrophone(session) {
  const { context, microphone } = session;
  const source = context.createMediaStreamSource(microphone);
  const processor = context.createScriptProcessor(1024, 1, 1); // mixed down to one channel
  processor.addEventListener("audioprocess", (event) => {
    if (!session.running || !session.ready || session.socket.readyState !== WebSocket.OPEN) return;
    const samples = event.inputBuffer.getChannelData(0);
    const chunk = new DataView(new ArrayBuffer(samples.length * 2));
    samples.forEach((sample, i) => chunk.setInt16(i * 2, Math.max(-1, Math.min(1, sample)) * 0x7fff, true));
    session.pending.push(chunk.buffer);
    session.pendingSamples += samples.length;
    if (session.pendingSamples < session.rate / 10) return;
    const frame = new Uint8Array(session.pendingSamples * 2); // one binary frame
    let at = 0;
    for (const part of session.pending) { frame.set(new Uint8Array(part), at); at += part.byteLength; }
    session.socket.send(frame.buffer);
    session.sent += session.pendingSamples;
    session.pending = []; session.pendingSamples = 0;
    drawLive(session);
  });
  source.connect(processor);
  processor.connect(context.destination); // silent, but a processor runs only when connected
  context.resume();
}

function stopMicrophone(session) {
  session.microphone.getTracks().forEach((track) => track.stop());
  if (session.context.state !== "closed") session.context.close();
}

/** Stop: the microphone at once, the stream once the server has sent what it still has (a
 *  pending speech_end) and closed; or after 5 s if it does not. */
function stopLive() {
  const session = live;
  if (!session?.running) return;
  session.running = false;
  stopMicrophone(session);
  if (session.socket.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify({ event: "end" }));
  setTimeout(() => session.socket.close(), 5000);
  setText($("live-state"), "liveStopping");
  $("live-stop").disabled = true;
}

function onLiveClosed(session, event) {
  if (session.running) { session.running = false; stopMicrophone(session); }
  if (session !== live) return; // a stream the page has left
  if (session.open) endSpan(session, session.open.end);
  drawLive(session);
  setText($("live-state"), "liveClosed");
  $("live-start").disabled = false; $("live-stop").disabled = true;
  // An error event has said why; a socket closed before that, or refused, says only its code.
  if (!event.wasClean && !session.failed) showError(pageError("liveLost", { code: event.code }));
}

function onLiveEvent(session, event) {
  if (session !== live) return;
  session.heard = Math.max(session.heard, event.time ?? 0);
  if (event.event === "ready") {
    session.ready = true;
    session.threshold = event.threshold;
    setText($("live-state"), "liveListening");
    setLiveSpeaker({ key: "liveSilence" });
  } else if (event.event === "speech_start") {
    session.open = { start: event.time, end: event.time, key: undefined };
    session.spans.push(session.open);
    setLiveSpeaker({ key: "liveSpeech" });
  } else if (event.event === "speaker") {
    heardSpeaker(session, event);
  } else if (event.event === "speech_end") {
    if (session.open) endSpan(session, event.time);
    setLiveSpeaker({ key: "liveSilence" });
  } else if (event.event === "error") {
    session.failed = true;
    showError({ code: event.code, msg: event.msg });
  }
  drawLive(session);
}

/** A speaker event: the open span is theirs if it was nobody's yet or already theirs; else the
 *  span ends where the last event left it and the new speaker's begins there. All speakers no
 *  voiceprint matched are one: "unknown speaker". */
function heardSpeaker(session, event) {
  const key = event.matched ? event.feature_id : null;
  if (!session.speakers.has(key)) {
    session.speakers.set(key, { index: session.speakers.size, named: event.matched, label: event.matched ? event.feature_name : null });
  }
  let span = session.open;
  if (!span) { span = session.open = { start: event.time, end: event.time, key }; session.spans.push(span); }
  if (span.key === undefined) span.key = key;
  else if (span.key !== key) {
    span = session.open = { start: span.end, end: event.time, key };
    session.spans.push(span);
  }
  span.end = event.time;
  const score = event.score === null ? null : { score: event.score.toFixed(1), threshold: session.threshold };
  setLiveSpeaker(event.matched ? { key: "speakingAs", args: { name: event.feature_name }, matched: true, score }
    : { key: "liveUnknown", matched: false, score });
}

function endSpan(session, time) {
  session.open.end = Math.max(session.open.end, time);
  session.open = null;
}

/** "Speaking: name", "Unknown speaker", "Silence"…, and the score if there is one. */
function setLiveSpeaker(shown) {
  const node = $("live-speaker");
  setText(node, shown?.key, shown?.args);
  if (shown?.matched === undefined) delete node.dataset.matched; else node.dataset.matched = shown.matched;
  setText($("live-score"), shown?.score ? "liveScore" : null, shown?.score);
}

/** The timeline of the last LIVE_WINDOW seconds up to what has been sent (the open span reaches
 *  it: the speech goes on until speech_end), and its legend. */
function drawLive(session) {
  const now = Math.max(session.sent / session.rate, session.heard);
  const from = now - LIVE_WINDOW;
  session.spans = session.spans.filter((span) => span === session.open || span.end > from);
  $("live-timeline").replaceChildren(...session.spans.map((span) =>
    timelineBar("div", Math.max(span.start, from) - from, (span === session.open ? now : span.end) - from, LIVE_WINDOW,
      session.speakers.get(span.key), { "data-testid": "segment" })));
  $("live-legend").replaceChildren(...[...session.speakers.values()].map((speaker) =>
    el("li", {}, speaker.named ? speakerName(speaker) : speakerName(speaker, "liveUnknown"))));
}

// Recording from the microphone with the browser's own recorder, uploaded as it is: the server
// decodes Opus in WebM (Chromium, Firefox) and in Ogg, and the MP4 of browsers that record AAC.
const RECORDING_FORMATS = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus"];
let recording = null;

/** The file extension of a recording's MIME type: its subtype ("audio/ogg;codecs=opus" → "ogg"),
 *  but m4a for MP4 audio. */
function extensionOf(type) {
  const subtype = type.split(";")[0].split("/")[1] || "audio";
  return subtype === "mp4" ? "m4a" : subtype;
}

/** Records from the microphone until `until` resolves; resolves to `{file, seconds}`, the file
 *  named with its format's extension. */
async function record(until) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  try {
    const mimeType = RECORDING_FORMATS.find((type) => MediaRecorder.isTypeSupported(type));
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    const chunks = [];
    recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
    const stopped = new Promise((resolve, reject) => {
      recorder.addEventListener("stop", resolve);
      recorder.addEventListener("error", (event) => reject(event.error));
    });
    recorder.start();
    const started = performance.now();
    await until;
    const seconds = (performance.now() - started) / 1000;
    recorder.stop();
    await stopped;
    const type = recorder.mimeType;
    return { file: new File(chunks, `recording.${extensionOf(type)}`, { type }), seconds };
  } finally {
    stream.getTracks().forEach((track) => track.stop());
  }
}

/** A record button: the first press starts recording, the second stops it and hands the
 *  recording to `done`. One recording at a time: any record button stops the current one. */
async function toggleRecording(button, done) {
  if (recording) { recording.stop(); return; }
  if (!navigator.mediaDevices || !window.MediaRecorder) throw pageError("noMicrophone");
  const key = button.dataset.i18n;
  let stop;
  recording = { stop: () => stop() };
  const until = new Promise((resolve) => { stop = resolve; });
  setText(button, "stop"); button.classList.add("recording");
  try { await done(await record(until)); }
  finally { recording = null; setText(button, key); button.classList.remove("recording"); }
}

/** A clip to send, chosen as a file or recorded: a file button, a record button, and what was
 *  chosen (the file's name or the recording's length). `clip()` gives the chosen file, else the
 *  last recording. The file input itself is hidden in its label, whose text is ours: the
 *  browser's own "Choose file" would be in the browser's language, not the page's. */
function clipPicker(kind, { recordable = true } = {}) {
  let recorded = null;
  const input = el("input", { type: "file", accept: AUDIO_FILES, class: "file-input", "data-testid": `${kind}-file` });
  const choose = el("label", { class: "button secondary" }, input, el("span", { i18n: "chooseFile" }));
  const record = el("button", { class: "secondary", "data-testid": `${kind}-record`, i18n: "record" });
  const chosen = el("span", { class: "muted", "data-testid": `${kind}-clip` });
  input.addEventListener("change", () => {
    recorded = null;
    setText(chosen, null);
    if (input.files.length) chosen.textContent = input.files[0].name;
  });
  record.addEventListener("click", run(() => toggleRecording(record, (made) => {
    recorded = made; input.value = "";
    setText(chosen, "recorded", { seconds: made.seconds.toFixed(1) });
  })));
  return {
    nodes: recordable ? [choose, record, chosen] : [choose, chosen],
    clip() {
      if (input.files.length) return input.files[0];
      if (recorded) return recorded.file;
      throw pageError("noClip");
    },
    clear() { input.value = ""; recorded = null; setText(chosen, null); },
  };
}

// Wiring.
const pickers = {
  enroll: clipPicker("enroll"), identify: clipPicker("identify"),
  compareFirst: clipPicker("compare-first"), compareSecond: clipPicker("compare-second"),
  // A recording to play back by segment: a file (the browser's own recordings seek poorly).
  diarize: clipPicker("diarize", { recordable: false }),
};
$("enroll-clip").prepend(...pickers.enroll.nodes);
$("identify-clip").prepend(...pickers.identify.nodes);
$("compare-first-clip").append(...pickers.compareFirst.nodes);
$("compare-second-clip").append(...pickers.compareSecond.nodes);
$("diarize-clip").prepend(...pickers.diarize.nodes);
for (const [code, name] of Object.entries(LANGUAGES)) $("language").append(el("option", { value: code, lang: code }, name));
$("language").addEventListener("change", (e) => {
  localStorage.setItem("voxprint-language", e.target.value);
  setLanguage(e.target.value);
});
$("sign-in").addEventListener("click", run(() => signIn($("token").value)));
$("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("sign-in").click(); });
$("sign-out").addEventListener("click", signOut);
$("open-compare").addEventListener("click", openCompare);
$("compare-back").addEventListener("click", run(openGroups));
$("compare").addEventListener("click", run(compare));
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
$("open-diarize").addEventListener("click", openDiarize);
$("open-live").addEventListener("click", openLive);
for (const back of document.querySelectorAll(".group-back")) back.addEventListener("click", run(() => openGroup(state.group)));
$("diarize").addEventListener("click", run(diarize));
$("diarize-audio").addEventListener("timeupdate", followPlayback);
$("diarize-audio").addEventListener("pause", () => { segmentEnd = null; });
$("live-start").addEventListener("click", run(startLive));
$("live-stop").addEventListener("click", stopLive);
setLanguage(preferredLanguage());
if (token()) run(() => signIn(token()))(); else show(["signin-view"]);
