// The official Coze Node SDK (@coze/api, pinned in package.json) against the real Voxprint binary,
// with only its base URL changed: groups, voiceprints and speaker_identify, whose answer carries
// Voxprint's extra decision fields (`threshold`, per item `matched`) beside Coze's.
//
// VOXPRINT_BIN names the server binary (default: target/debug/voxprint). The server runs on the
// embedded deployment in a temporary data directory.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, readFileSync } from "node:fs";
import { CozeAPI, NotFoundError } from "@coze/api";
import { corpus, startServer } from "../voxprint-server.mjs";

/** Coze's fields of a speaker_identify item are all there; Voxprint's `matched` is the decision. */
function assertDecided(data) {
  assert.equal(typeof data.threshold, "number");
  for (const item of data.feature_score_list) {
    assert.match(item.feature_id, /^\d+$/);
    assert.equal(typeof item.feature_name, "string");
    assert.equal(typeof item.feature_desc, "string");
    assert.ok(item.score >= 0 && item.score <= 100, `score ${item.score}`);
    assert.equal(item.matched, item.score >= data.threshold, JSON.stringify(item));
  }
}

test("groups, voiceprints and speaker_identify through @coze/api", async () => {
  const server = await startServer();
  try {
    const coze = new CozeAPI({ token: server.token, baseURL: server.baseUrl });
    const groups = coze.audio.voiceprintGroups;

    const group = await groups.create({ name: "Front door", desc: "device 7" });
    assert.match(group.id, /^\d+$/);
    // A file as a Buffer (sent without a file name) and as a stream (with one): both enroll.
    const alan = await groups.features.create(group.id, { file: readFileSync(corpus("flite-awb", 1)), name: "Alan", desc: "the boss" });
    const sally = await groups.features.create(group.id, { file: createReadStream(corpus("flite-slt", 1)), name: "Sally" });
    assert.match(alan.id, /^\d+$/);
    assert.match(sally.id, /^\d+$/);

    const listed = await groups.list({ page_num: 1, page_size: 10, group_id: group.id });
    assert.equal(listed.total, 1);
    assert.deepEqual([listed.items[0].id, listed.items[0].name, listed.items[0].feature_count], [group.id, "Front door", 2]);
    assert.equal(listed.items[0].user_info.name, "admin");
    const features = await groups.features.list(group.id, { page_num: 1, page_size: 10 });
    assert.equal(features.total, 2);
    const alanListed = features.items.find((f) => f.id === alan.id);
    assert.deepEqual([alanListed.name, alanListed.desc, alanListed.group_id], ["Alan", "the boss", group.id]);
    assert.ok(alanListed.audio_url.startsWith(server.baseUrl), alanListed.audio_url);

    const identified = await groups.features.speakerIdentify(group.id, { file: readFileSync(corpus("flite-slt", 4)) });
    assert.deepEqual(identified.feature_score_list.map((s) => s.feature_id), [sally.id, alan.id]);
    assert.equal(identified.feature_score_list[0].feature_name, "Sally");
    assertDecided(identified);
    // The SDK sends a number as a form field as it is; top_k cuts the list, not the threshold.
    const top1 = await groups.features.speakerIdentify(group.id, { file: readFileSync(corpus("flite-awb", 3)), top_k: 1 });
    assert.deepEqual(top1.feature_score_list.map((s) => s.feature_id), [alan.id]);
    assert.equal(top1.threshold, identified.threshold);
    assertDecided(top1);

    await assert.rejects(
      groups.features.speakerIdentify("123", { file: readFileSync(corpus("flite-awb", 2)) }),
      (err) => err instanceof NotFoundError && err.code === 4200,
    );
  } finally {
    server.stop();
  }
});
