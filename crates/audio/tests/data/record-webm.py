#!/usr/bin/env python3
"""Records a WebM as a browser does: headless Chromium's MediaRecorder (audio/webm;codecs=opus at
32 kb/s, a chunk every 500 ms), with a WAV file as the microphone.

    record-webm.py INPUT.wav SECONDS OUTPUT.webm

The page is served from, and posts the recording back to, a server on 127.0.0.1 started here;
Chromium is Debian's (`chromium`). The recording starts at the WAV's start, give or take a frame.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading

wav, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
PAGE = """<!doctype html><script>
(async () => {
  // The browser's default processing, as the console records: mono.
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream, {mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: 32000});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.onstop = () => fetch('/upload', {method: 'POST', body: new Blob(chunks)});
  recorder.start(500);
  setTimeout(() => recorder.stop(), %d);
})();
</script>""" % int(seconds * 1000)
received = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE.encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "wb") as f:
            f.write(body)
        self.send_response(204)
        self.end_headers()
        received.set()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
with tempfile.TemporaryDirectory() as profile:
    browser = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         f"--use-file-for-fake-audio-capture={os.path.abspath(wav)}",
         f"http://127.0.0.1:{server.server_port}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok = received.wait(timeout=60 + seconds)
    finally:
        browser.terminate()
        browser.wait(timeout=30)
server.shutdown()
if not ok:
    sys.exit("no recording came back from Chromium")
