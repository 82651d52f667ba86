// The web console end to end in headless Chromium, once in English and once in Simplified
// Chinese (the browser's locale picks the language): sign in, create a group, enroll two voices
// from WAV files, identify an uploaded clip and a clip recorded from the microphone (Chromium's
// fake microphone playing a corpus voice, recorded by MediaRecorder as WebM/Opus), verify a
// voiceprint, add and delete samples, compare two clips; all without a Content-Security-Policy
// violation, and with the page's texts in the language. Then, in each language, who spoke when in
// a two-speaker conversation (timeline, tables, playback of a segment) and the live page streaming
// that conversation from the fake microphone. Then the policy itself: no inline code, no framing.
// Screenshots go to screenshots/ at the repository root (ignored by git).
//
// VOXPRINT_BIN names the server binary (default: target/debug/voxprint); CHROMIUM the browser
// (default: /usr/bin/chromium, Debian's package).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { corpus, repo, startServer } from "../voxprint-server.mjs";

const screenshots = join(repo, "screenshots");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** What the microphone hears: Sally's voice, on a loop. */
const microphone = corpus("flite-slt", 4);

/** Headless Chromium whose fake microphone plays `microphoneFile` on a loop (and is allowed). */
function launchChromium(microphoneFile) {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${microphoneFile}`],
  });
}

/** Collects what the page's Content-Security-Policy blocks: Chromium reports it on the console,
 *  and the document fires `securitypolicyviolation`. */
async function watchViolations(page) {
  const violations = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.addInitScript(() => document.addEventListener("securitypolicyviolation", (event) =>
    console.error(`Content-Security-Policy violation: ${event.violatedDirective} ${event.blockedURI}`)));
  return violations;
}

/** A conversation of two voices as one 16 kHz mono WAV: Alan (flite-awb) says three utterances,
 *  half a second of silence, then a voice the test never enrolls (festival-ked) says three. The
 *  corpus files are 16 kHz mono 16-bit WAVs with 44-byte headers. */
function conversationWav() {
  const pcm = (voice, n) => readFileSync(corpus(voice, n)).subarray(44);
  const data = Buffer.concat([pcm("flite-awb", 2), pcm("flite-awb", 3), pcm("flite-awb", 4),
    Buffer.alloc(16000), pcm("festival-ked", 2), pcm("festival-ked", 3), pcm("festival-ked", 4)]);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0); header.writeUInt32LE(36 + data.length, 4); header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22); // PCM, mono
  header.writeUInt32LE(16000, 24); header.writeUInt32LE(32000, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write("data", 36); header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** What each language's page must show, as the test expects to read it. */
const languages = [
  {
    locale: "en-US", lang: "en", short: "en", other: "zh-CN",
    signIn: "Sign in", groups: "Voiceprint groups", otherGroups: "声纹组",
    samples: (count) => (count === 1 ? "1 sample" : `${count} samples`),
    recorded: /^recorded \d+\.\d s$/,
    bestMatch: (name) => new RegExp(`^Best match: ${name} \\(\\d+\\.\\d\\)$`),
    unknown: (name, threshold) => new RegExp(`^Unknown speaker \\(best: ${name}, \\d+\\.\\d < ${threshold}\\)$`),
    same: (threshold) => new RegExp(`^Same speaker \\(score \\d+\\.\\d, threshold ${threshold}\\)$`),
    different: (threshold) => new RegExp(`^Different speaker \\(score \\d+\\.\\d < ${threshold}\\)$`),
    speech: /\d+\.\d s of speech/,
    clipQuality: /^First clip \d+\.\d s of speech, SNR -?\d+\.\d dB/,
    confirmSample: "Delete this sample of \"Sally\"?",
    error: "Error 4000: ",
    diarizeHeading: "Who spoke when", notEnrolled: "not enrolled", seconds: /^(\d+\.\d) s$/,
    liveHeading: "Live", listening: "Connected, listening", disconnected: "Disconnected",
    speakingAs: (name) => `Speaking: ${name}`, liveScore: /^score \d+\.\d, threshold \d+/,
  },
  {
    locale: "zh-CN", lang: "zh-CN", short: "zh", other: "en",
    signIn: "登录", groups: "声纹组", otherGroups: "Voiceprint groups",
    samples: (count) => `${count} 个样本`,
    recorded: /^已录制 \d+\.\d 秒$/,
    bestMatch: (name) => new RegExp(`^最佳匹配：${name}（\\d+\\.\\d）$`),
    unknown: (name, threshold) => new RegExp(`^未知说话人（最接近：${name}，\\d+\\.\\d < ${threshold}）$`),
    same: (threshold) => new RegExp(`^同一说话人（得分 \\d+\\.\\d，阈值 ${threshold}）$`),
    different: (threshold) => new RegExp(`^不同说话人（得分 \\d+\\.\\d < ${threshold}）$`),
    speech: /语音 \d+\.\d 秒/,
    clipQuality: /^第一段录音 语音 \d+\.\d 秒，信噪比 -?\d+\.\d dB/,
    confirmSample: "删除“Sally”的这个样本？",
    error: "错误 4000：",
    diarizeHeading: "谁在何时说话", notEnrolled: "未注册", seconds: /^(\d+\.\d) 秒$/,
    liveHeading: "实时识别", listening: "已连接，正在收听", disconnected: "已断开",
    speakingAs: (name) => `正在说话：${name}`, liveScore: /^得分 \d+\.\d，阈值 \d+/,
  },
];

/** Clicks `button` and resolves to the `data` of the answer from the API path ending `path`. */
async function answer(page, path, button) {
  const response = page.waitForResponse((r) => r.url().endsWith(path));
  await button.click();
  return (await (await response).json()).data;
}

for (const language of languages) {
  test(`${language.locale}: enroll, identify (uploaded and recorded), verify, samples, compare`, async () => {
    const server = await startServer();
    mkdirSync(screenshots, { recursive: true });
    const browser = await launchChromium(microphone);
    try {
      const context = await browser.newContext({
        locale: language.locale, viewport: { width: 390, height: 844 }, permissions: ["microphone"], // a phone-sized screen
      });
      const page = await context.newPage();
      const violations = await watchViolations(page);
      // The files the page uploads, as it hands them to fetch.
      await page.addInitScript(() => {
        const send = window.fetch;
        window.uploadedFiles = [];
        window.fetch = (url, init) => {
          if (init?.body instanceof FormData) {
            for (const value of init.body.values()) if (value instanceof File) window.uploadedFiles.push(value);
          }
          return send(url, init);
        };
      });
      const dialogs = [];
      page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.accept(); });

      await page.goto(`${server.baseUrl}/console`);
      assert.equal(await page.evaluate(() => document.documentElement.lang), language.lang);
      assert.equal(await page.getByTestId("sign-in").textContent(), language.signIn);
      await page.getByTestId("token").fill(server.token);
      await page.getByTestId("sign-in").click();
      await page.getByTestId("new-group-name").waitFor();
      await page.locator("#groups-view h2").first().filter({ hasText: language.groups }).waitFor();

      await page.getByTestId("new-group-name").fill("Front door");
      await page.getByTestId("create-group").click();
      await page.getByRole("link", { name: "Front door" }).click();
      await page.getByTestId("group-title").filter({ hasText: "Front door" }).waitFor();

      const features = page.getByTestId("features");
      for (const [name, voice] of [["Alan", "flite-awb"], ["Sally", "flite-slt"]]) {
        await page.getByTestId("enroll-name").fill(name);
        await page.getByTestId("enroll-file").setInputFiles(corpus(voice, 1));
        await page.getByTestId("enroll").click();
        await features.getByText(name, { exact: true }).waitFor();
      }
      assert.equal(await features.locator("tr").count(), 2);
      assert.equal(await features.locator("audio").count(), 2);
      const sally = features.locator("tr[data-feature-id]").filter({ hasText: "Sally" });
      assert.equal(await sally.getByTestId("sample-count").textContent(), language.samples(1));

      // Identify an uploaded clip. The verdict and the threshold marker follow the server's
      // decision in the same answer (its `threshold` and `matched`), whatever the threshold.
      await page.getByTestId("identify-file").setInputFiles(corpus("flite-slt", 3));
      const identified = await answer(page, "/speaker_identify", page.getByTestId("identify"));
      const best = identified.feature_score_list[0];
      assert.equal(best.feature_name, "Sally");
      const verdict = page.getByTestId("verdict");
      await verdict.filter({ hasText: /./ }).waitFor();
      assert.match(await verdict.textContent(), best.matched ? language.bestMatch("Sally") : language.unknown("Sally", identified.threshold));
      const chart = page.getByTestId("chart");
      assert.equal(await chart.locator(".bar-row").count(), 2);
      assert.equal(await chart.locator(".bar.best").count(), best.matched ? 1 : 0);
      assert.equal(await chart.locator(".threshold").first().evaluate((m) => m.style.left), `${identified.threshold}%`);

      // Identify a recording: the browser's MediaRecorder hears Sally for three seconds and the
      // console uploads its WebM/Opus as it is.
      await page.getByTestId("identify-file").setInputFiles([]);
      await page.getByTestId("identify-record").click();
      await page.waitForTimeout(3000);
      await page.getByTestId("identify-record").click();
      await page.getByTestId("identify-clip").filter({ hasText: language.recorded }).waitFor();
      const recognised = await answer(page, "/speaker_identify", page.getByTestId("identify"));
      const recording = await page.evaluate(async () => {
        const file = window.uploadedFiles.at(-1);
        return { name: file.name, type: file.type, head: [...new Uint8Array(await file.slice(0, 4).arrayBuffer())] };
      });
      assert.deepEqual(recording, { name: "recording.webm", type: "audio/webm;codecs=opus", head: [0x1a, 0x45, 0xdf, 0xa3] });
      assert.equal(recognised.feature_score_list[0].feature_name, "Sally");
      assert.ok(recognised.feature_score_list[0].matched, "the recorded clip is Sally's voice");
      await verdict.filter({ hasText: language.bestMatch("Sally") }).waitFor();
      await page.screenshot({ path: join(screenshots, `console-identify-${language.short}.png`), fullPage: true });

      // An API error is shown to the user: enrolling without a name.
      await page.getByTestId("enroll-file").setInputFiles(corpus("flite-awb", 2));
      await page.getByTestId("enroll").click();
      await page.getByTestId("error").filter({ hasText: language.error }).waitFor();

      // Verify against Sally's voiceprint: her voice, then Alan's.
      await sally.getByTestId("verify-open").click();
      const verifyPanel = page.getByTestId("verify-panel");
      const verifyVerdict = verifyPanel.getByTestId("verify-verdict");
      for (const [voice, matched] of [["flite-slt", true], ["flite-awb", false]]) {
        await verifyPanel.getByTestId("verify-file").setInputFiles(corpus(voice, 2));
        const verified = await answer(page, "/verify", verifyPanel.getByTestId("verify"));
        assert.equal(verified.matched, matched, `verify ${voice} against Sally`);
        await verifyVerdict.and(page.locator(`[data-matched=${matched}]`)).waitFor();
        assert.match(await verifyVerdict.textContent(), (matched ? language.same : language.different)(verified.threshold));
      }
      await sally.getByTestId("verify-open").click();
      assert.equal(await verifyPanel.count(), 0, "a second press closes the panel");

      // Samples: add one to Sally's voiceprint, delete one, and the server keeps the last.
      await sally.getByTestId("samples-open").click();
      const samplesPanel = page.getByTestId("samples-panel");
      const samples = samplesPanel.getByTestId("sample");
      await samples.first().waitFor();
      assert.equal(await samples.count(), 1);
      await samplesPanel.getByTestId("sample-file").setInputFiles(corpus("flite-slt", 5));
      await samplesPanel.getByTestId("add-sample").click();
      await sally.getByTestId("sample-count").filter({ hasText: language.samples(2) }).waitFor();
      assert.equal(await samples.count(), 2);
      assert.equal(await samples.locator("audio").count(), 2);
      assert.equal(await samples.filter({ hasText: language.speech }).count(), 2, "each sample's seconds of speech");
      await page.screenshot({ path: join(screenshots, `console-group-${language.short}.png`), fullPage: true });
      await samples.first().getByTestId("delete-sample").click();
      await sally.getByTestId("sample-count").filter({ hasText: language.samples(1) }).waitFor();
      assert.equal(await samples.count(), 1);
      assert.equal(dialogs.at(-1), language.confirmSample);
      await samples.first().getByTestId("delete-sample").click();
      await page.getByTestId("error").filter({ hasText: language.error }).waitFor();
      assert.equal(await samples.count(), 1);

      // Compare two clips of Sally, then Sally and Alan.
      await page.getByTestId("back").click();
      await page.getByTestId("open-compare").click();
      const compareVerdict = page.getByTestId("compare-verdict");
      await page.getByTestId("compare-first-file").setInputFiles(corpus("flite-slt", 6));
      for (const [voice, matched] of [["flite-slt", true], ["flite-awb", false]]) {
        await page.getByTestId("compare-second-file").setInputFiles(corpus(voice, 7));
        const compared = await answer(page, "/compare", page.getByTestId("compare"));
        assert.equal(compared.matched, matched, `compare Sally with ${voice}`);
        await compareVerdict.and(page.locator(`[data-matched=${matched}]`)).waitFor();
        assert.match(await compareVerdict.textContent(), (matched ? language.same : language.different)(compared.threshold));
        const qualities = page.getByTestId("clip-quality");
        assert.equal(await qualities.count(), 2);
        assert.match(await qualities.first().textContent(), language.clipQuality);
      }
      await page.screenshot({ path: join(screenshots, `console-compare-${language.short}.png`), fullPage: true });

      // The other language, chosen on the page, stays chosen after a reload.
      await page.getByTestId("language").selectOption(language.other);
      await page.getByTestId("compare-back").click();
      await page.locator("#groups-view h2").first().filter({ hasText: language.otherGroups }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), language.other);
      await page.reload();
      await page.locator("#groups-view h2").first().filter({ hasText: language.otherGroups }).waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem("voxprint-language")), language.other);

      await page.getByTestId("sign-out").click();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("voxprint-token")), null);
      await page.getByTestId("sign-in").waitFor();
      assert.deepEqual(violations, [], "the page works within its Content-Security-Policy");
    } finally {
      await browser.close();
      server.stop();
    }
  });
}

/** Calls the API as the admin; resolves to `data`. */
async function call(server, method, path, body) {
  const headers = { Authorization: `Bearer ${server.token}` };
  if (!(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
  const json = await (await fetch(`${server.baseUrl}${path}`, { method, headers, body })).json();
  assert.equal(json.code, 0, `${method} ${path}: ${json.msg}`);
  return json.data;
}

for (const language of languages) {
  test(`${language.locale}: who spoke when in a conversation, and who is speaking now (live)`, async () => {
    const server = await startServer();
    mkdirSync(screenshots, { recursive: true });
    // The conversation is both the uploaded recording and what the fake microphone plays.
    const conversation = conversationWav();
    const scratch = mkdtempSync(join(tmpdir(), "voxprint-console-"));
    const conversationFile = join(scratch, "conversation.wav");
    writeFileSync(conversationFile, conversation);
    const browser = await launchChromium(conversationFile);
    try {
      // Alan is enrolled as "awb" through the API; the other voice is not.
      const group = await call(server, "POST", "/v1/audio/voiceprint_groups", { name: "Meeting room" });
      const form = new FormData();
      form.append("name", "awb");
      form.append("file", new Blob([readFileSync(corpus("flite-awb", 1))], { type: "audio/wav" }), "awb.wav");
      await call(server, "POST", `/v1/audio/voiceprint_groups/${group.id}/features`, form);

      const context = await browser.newContext({
        locale: language.locale, viewport: { width: 390, height: 844 }, permissions: ["microphone"],
      });
      const page = await context.newPage();
      const violations = await watchViolations(page);
      await page.goto(`${server.baseUrl}/console`);
      await page.getByTestId("token").fill(server.token);
      await page.getByTestId("sign-in").click();
      await page.getByRole("link", { name: "Meeting room" }).click();
      await page.getByTestId("open-diarize").click();
      await page.locator("#diarize-view h2").filter({ hasText: `${language.diarizeHeading} · Meeting room` }).waitFor();

      // An API error is shown as the other pages show theirs: max_speakers out of range.
      await page.getByTestId("diarize-file").setInputFiles({ name: "conversation.wav", mimeType: "audio/wav", buffer: conversation });
      await page.getByTestId("max-speakers").fill("0");
      await page.getByTestId("diarize").click();
      await page.getByTestId("error").filter({ hasText: language.error }).waitFor();
      await page.getByTestId("max-speakers").fill("");

      // The timeline: two speakers, Alan named, the other striped as not enrolled.
      const diarized = await answer(page, "/speaker_diarize", page.getByTestId("diarize"));
      const segments = page.getByTestId("diarize-timeline").getByTestId("segment");
      await segments.first().waitFor();
      assert.equal(await segments.count(), diarized.segments.length);
      const bars = await segments.evaluateAll((nodes) => nodes.map((node) =>
        ({ label: node.dataset.label, colour: node.style.backgroundColor, unnamed: node.classList.contains("unnamed") })));
      const speakersShown = [...new Map(bars.map((bar) => [bar.label, bar])).values()];
      assert.deepEqual(speakersShown.map((bar) => bar.label).sort(), ["awb", "speaker_1"]);
      assert.deepEqual(speakersShown.map((bar) => bar.unnamed).sort(), [false, true], "named and unnamed look different");
      assert.notEqual(speakersShown[0].colour, speakersShown[1].colour);
      assert.equal(await page.getByTestId("diarize-legend").locator("li").count(), 2);

      // The speakers table: Alan's voiceprint for "awb", none for "speaker_1", and about as many
      // seconds of speech as each voice has in the conversation (8.3 s and 9.0 s of audio).
      const rows = await page.getByTestId("diarize-speakers").locator("tr").evaluateAll((trs) =>
        trs.map((tr) => [...tr.cells].map((cell) => cell.textContent)));
      assert.deepEqual(rows.map(([label, voiceprint]) => [label, voiceprint]), [["awb", "awb"], ["speaker_1", language.notEnrolled]]);
      for (const [label, , seconds] of rows) {
        const speech = Number(seconds.match(language.seconds)?.[1]);
        assert.ok(speech > 4 && speech < 9.5, `${label}: ${seconds} of speech`);
      }
      assert.equal(await page.getByTestId("diarize-segments").locator("tr").count(), diarized.segments.length);

      // Clicking a segment plays the uploaded file from the segment's start and pauses at its
      // end: the shortest segment but the last (the end of the file would pause it anyway).
      const player = page.getByTestId("diarize-audio");
      const shortest = diarized.segments.slice(0, -1).reduce((a, b) => (b.end - b.start < a.end - a.start ? b : a));
      await segments.nth(diarized.segments.indexOf(shortest)).click();
      await page.waitForFunction(({ start }) => {
        const audio = document.querySelector("[data-testid=diarize-audio]");
        return audio.paused && audio.currentTime > start + 0.1; // it played, then paused
      }, shortest, { timeout: 10_000 });
      const stoppedAt = await player.evaluate((audio) => audio.currentTime);
      assert.ok(stoppedAt >= shortest.end - 0.05 && stoppedAt < shortest.end + 0.6,
        `played ${shortest.start}–${shortest.end} s, stopped at ${stoppedAt} s`);
      await page.screenshot({ path: join(screenshots, `console-diarize-${language.short}.png`), fullPage: true });

      // Live: the fake microphone plays the conversation from its start, Alan first. The page
      // sends the stream's format, then PCM of at most a second per frame.
      const frames = [];
      page.on("websocket", (socket) => socket.on("framesent", ({ payload }) => frames.push(payload)));
      await page.getByTestId("diarize-back").click();
      await page.getByTestId("open-live").click();
      await page.locator("#live-view h2").filter({ hasText: `${language.liveHeading} · Meeting room` }).waitFor();
      await page.getByTestId("live-start").click();
      await page.getByTestId("live-state").filter({ hasText: language.listening }).waitFor({ timeout: 10_000 });
      await page.getByTestId("live-speaker").filter({ hasText: language.speakingAs("awb") }).waitFor({ timeout: 20_000 });
      assert.match(await page.getByTestId("live-score").textContent(), language.liveScore);
      assert.ok(await page.getByTestId("live-timeline").getByTestId("segment").count() > 0, "the timeline shows speech");
      assert.ok((await page.getByTestId("live-legend").textContent()).includes("awb"));
      await page.screenshot({ path: join(screenshots, `console-live-${language.short}.png`), fullPage: true });
      await page.getByTestId("live-stop").click();
      await page.getByTestId("live-state").filter({ hasText: language.disconnected }).waitFor({ timeout: 10_000 });

      const start = JSON.parse(frames[0]);
      assert.equal(start.channel, 1);
      assert.ok(Number.isInteger(start.sample_rate) && start.sample_rate >= 8000 && start.sample_rate <= 48000, `rate ${start.sample_rate}`);
      // 16-bit samples in binary frames of about 100 ms each (the server takes up to a second).
      const audio = frames.slice(1, -1);
      assert.ok(audio.length > 0);
      for (const frame of audio) {
        assert.ok(Buffer.isBuffer(frame) && frame.length % 2 === 0, "a binary frame of 16-bit samples");
        const seconds = frame.length / 2 / start.sample_rate;
        assert.ok(seconds >= 0.1 && seconds < 0.2, `a frame of ${seconds} s`);
      }
      assert.deepEqual(JSON.parse(frames.at(-1)), { event: "end" });
      assert.deepEqual(violations, [], "the pages work within the Content-Security-Policy");
    } finally {
      await browser.close();
      server.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

test("the console runs no inline code and cannot be framed", async () => {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const response = await fetch(`${server.baseUrl}/console`);
    const policy = response.headers.get("content-security-policy");
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
    assert.match(policy, /(^|; )script-src 'self'(;|$)/);
    assert.match(policy, /(^|; )style-src 'self'(;|$)/);
    assert.match(policy, /(^|; )frame-ancestors 'none'(;|$)/);
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, "no inline script");
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or event handler");
    for (const [path, type] of [["/console/console.js", "text/javascript"], ["/console/console.css", "text/css"]]) {
      const asset = await fetch(`${server.baseUrl}${path}`);
      assert.equal(asset.status, 200, path);
      assert.match(asset.headers.get("content-type"), new RegExp(`^${type};`), path);
      assert.equal(asset.headers.get("x-content-type-options"), "nosniff", path);
    }

    // A page of another origin framing the console gets nothing of it.
    const framer = await browser.newPage();
    const blocked = framer.waitForEvent("console", (message) => /frame-ancestors/.test(message.text()));
    await framer.setContent(`<iframe src="${server.baseUrl}/console"></iframe>`);
    await blocked;
    assert.equal(await framer.frames()[1].locator("[data-testid=sign-in]").count(), 0);
  } finally {
    await browser.close();
    server.stop();
  }
});
