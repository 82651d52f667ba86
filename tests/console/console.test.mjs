// The web console end to end in headless Chromium: sign in, create a group, enroll two voices
// from WAV files, identify a third clip and read the best match off the page, all without a
// Content-Security-Policy violation; and the policy itself: no inline code, no framing.
// Screenshots go to screenshots/ at the repository root (ignored by git).
//
// VOXPRINT_BIN names the server binary (default: target/debug/voxprint); CHROMIUM the browser
// (default: /usr/bin/chromium, Debian's package).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { corpus, repo, startServer } from "../voxprint-server.mjs";

const screenshots = join(repo, "screenshots");

test("sign in, create a group, enroll two voices, identify a third clip", async () => {
  const server = await startServer();
  mkdirSync(screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone-sized screen
    // Anything the page's Content-Security-Policy blocks: Chromium reports it on the console,
    // and the document fires `securitypolicyviolation`.
    const violations = [];
    page.on("console", (message) => {
      if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.addInitScript(() => document.addEventListener("securitypolicyviolation", (event) =>
      console.error(`Content-Security-Policy violation: ${event.violatedDirective} ${event.blockedURI}`)));
    await page.goto(`${server.baseUrl}/console`);
    await page.getByTestId("token").fill(server.token);
    await page.getByTestId("sign-in").click();
    await page.getByTestId("new-group-name").waitFor();

    await page.getByTestId("new-group-name").fill("Front door");
    await page.getByTestId("create-group").click();
    await page.getByRole("link", { name: "Front door" }).click();
    await page.getByTestId("group-title").filter({ hasText: "Front door" }).waitFor();

    for (const [name, voice] of [["Alan", "flite-awb"], ["Sally", "flite-slt"]]) {
      await page.getByTestId("enroll-name").fill(name);
      await page.getByTestId("enroll-file").setInputFiles(corpus(voice, 1));
      await page.getByTestId("enroll").click();
      await page.getByTestId("features").getByText(name, { exact: true }).waitFor();
    }
    assert.equal(await page.getByTestId("features").locator("tr").count(), 2);
    assert.equal(await page.getByTestId("features").locator("audio").count(), 2);
    await page.screenshot({ path: join(screenshots, "console-group.png"), fullPage: true });

    // The verdict and the threshold marker follow the server's decision in the same answer
    // (its `threshold` and `matched`), whatever the configured threshold.
    await page.getByTestId("identify-file").setInputFiles(corpus("flite-slt", 4));
    const answer = page.waitForResponse((r) => r.url().endsWith("/speaker_identify"));
    await page.getByTestId("identify").click();
    const { data } = await (await answer).json();
    const best = data.feature_score_list[0];
    assert.equal(best.feature_name, "Sally");
    const verdict = page.getByTestId("verdict");
    await verdict.filter({ hasText: /./ }).waitFor();
    const expected = best.matched
      ? /^Best match: Sally \(\d+\.\d\)$/
      : new RegExp(`^Unknown speaker \\(best: Sally, \\d+\\.\\d < ${data.threshold}\\)$`);
    assert.match(await verdict.textContent(), expected);
    const chart = page.getByTestId("chart");
    assert.equal(await chart.locator(".bar-row").count(), 2);
    assert.equal(await chart.locator(".bar.best").count(), best.matched ? 1 : 0);
    assert.equal(await chart.locator(".threshold").first().evaluate((m) => m.style.left), `${data.threshold}%`);
    await page.screenshot({ path: join(screenshots, "console-identify.png"), fullPage: true });

    // An API error is shown to the user: enrolling without a name.
    await page.getByTestId("enroll-file").setInputFiles(corpus("flite-awb", 2));
    await page.getByTestId("enroll").click();
    await page.getByTestId("error").filter({ hasText: "Error 4000" }).waitFor();

    await page.getByTestId("sign-out").click();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("voxprint-token")), null);
    await page.getByTestId("sign-in").waitFor();
    assert.deepEqual(violations, [], "the page works within its Content-Security-Policy");
  } finally {
    await browser.close();
    server.stop();
  }
});

test("the console runs no inline code and cannot be framed", async () => {
  const server = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
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
