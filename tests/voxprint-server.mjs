// What the Node tests (tests/console, tests/compat-node) share: the real `voxprint serve` on a
// free loopback port with a throwaway data directory, and the checked-in test corpus.
//
// VOXPRINT_BIN names the server binary (default: target/debug/voxprint).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const repo = resolve(import.meta.dirname, "..");
const bin = process.env.VOXPRINT_BIN ?? join(repo, "target/debug/voxprint");

/** Utterance `n` of a corpus voice (`testdata/corpus/<voice>/<nn>.wav`). */
export const corpus = (voice, n) => join(repo, "testdata/corpus", voice, `${String(n).padStart(2, "0")}.wav`);

/** Starts `voxprint serve` on the embedded deployment; resolves once it listens. */
export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), "voxprint-node-test-"));
  const server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
    env: { ...process.env, VOXPRINT_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: server.stdout });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("voxprint did not start")), 60_000);
    server.on("exit", (code) => reject(new Error(`voxprint exited with ${code}`)));
    lines.on("line", (line) => {
      if (line.startsWith("voxprint listening on ")) { clearTimeout(timer); resolve(line.split(" ").pop()); }
    });
  });
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  const stop = () => { server.kill("SIGKILL"); rmSync(dataDir, { recursive: true, force: true }); };
  return { baseUrl, token, stop };
}
