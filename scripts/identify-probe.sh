# Sourced by the speaker_identify benchmarks after scripts/bench-server.sh: writes a 5.0 s probe
# of an enrolled corpus voice (flite-slt, utterances 02–04 joined and cut to exactly 5 s) to
# $work/probe.wav, and a wrk script $work/identify.lua that posts it as a multipart upload with
# the server's token. With $probe_top_k set, the upload asks for that many results.

python3 - "$work/probe.wav" <<'PY'
import sys, wave
frames = b""
for n in (2, 3, 4):
    with wave.open(f"testdata/corpus/flite-slt/{n:02d}.wav") as w:
        frames += w.readframes(w.getnframes())
with wave.open(sys.argv[1], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(16000)
    out.writeframes(frames[: 5 * 16000 * 2])
PY
python3 - "$work/probe.wav" "$work/body" "${probe_top_k:-}" <<'PY'
import sys
boundary = b"voxprintbenchboundary"
audio = open(sys.argv[1], "rb").read()
fields = b""
if sys.argv[3]:
    fields = b"--" + boundary + b'\r\nContent-Disposition: form-data; name="top_k"\r\n\r\n' + sys.argv[3].encode() + b"\r\n"
body = (fields + b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="probe.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n" + audio + b"\r\n--" + boundary + b"--\r\n")
open(sys.argv[2], "wb").write(body)
PY
cat >"$work/identify.lua" <<LUA
wrk.method = "POST"
local f = io.open("$work/body", "rb")
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=voxprintbenchboundary"
wrk.headers["Authorization"] = "Bearer $token"
LUA
