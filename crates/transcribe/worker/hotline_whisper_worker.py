#!/usr/bin/env python3
"""Hotline's transcription worker: faster-whisper behind a JSON-lines protocol on stdin/stdout.

Started and supervised by the Rust `transcribe` crate; one request at a time. It must never
download anything: the CTranslate2 model is loaded from the directory given by --model, with
HF_HUB_OFFLINE set so a wrong path fails instead of reaching a network.

Protocol (one JSON object per line, UTF-8):
  worker -> on start:  {"type": "ready", "model": DIR}
                   or  {"type": "error", "message": TEXT}  then exit status 2
  request:             {"id": N, "wav": PATH, "channel": 0|1, "language": "en"|null}
  worker -> replies:   {"id": N, "type": "progress", "percent": 0..100}      (any number)
                       {"id": N, "type": "segment", "start_ms": A, "end_ms": B, "text": T}
                       {"id": N, "type": "done", "duration_ms": D}
                    or {"id": N, "type": "error", "message": TEXT}
Channel 0 is the left channel (the customer's), 1 the right (the agent's); a mono file has the
same audio on both. Diagnostics go to stderr, which the supervisor keeps for failure reasons.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def send(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def load_model(args):
    if not os.path.isfile(os.path.join(args.model, "model.bin")):
        raise RuntimeError(f"no CTranslate2 model (model.bin) in {args.model}")
    from faster_whisper import WhisperModel

    return WhisperModel(
        args.model,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        local_files_only=True,
    )


def transcribe(model, args, req):
    from faster_whisper.audio import decode_audio

    rid = req.get("id")
    path = req.get("wav")
    channel = req.get("channel", 0)
    language = req.get("language") or None
    if not isinstance(path, str) or channel not in (0, 1):
        send({"id": rid, "type": "error", "message": "bad request: need wav (text) and channel 0 or 1"})
        return
    if not os.path.isfile(path):
        send({"id": rid, "type": "error", "message": f"recording file {path} does not exist"})
        return
    try:
        left, right = decode_audio(path, sampling_rate=16000, split_stereo=True)
    except Exception as e:  # PyAV raises many kinds of errors on a corrupt file
        send({"id": rid, "type": "error", "message": f"cannot decode {path}: {type(e).__name__}: {e}"})
        return
    audio = left if channel == 0 else right
    if audio.size == 0:
        send({"id": rid, "type": "error", "message": f"cannot decode {path}: no audio samples"})
        return
    duration_s = audio.size / 16000.0
    segments, _info = model.transcribe(
        audio,
        language=language,
        beam_size=args.beam_size,
        vad_filter=args.vad_filter,
        condition_on_previous_text=False,
    )
    send({"id": rid, "type": "progress", "percent": 0})
    for seg in segments:
        text = seg.text.strip()
        if text:
            send(
                {
                    "id": rid,
                    "type": "segment",
                    "start_ms": max(0, int(round(seg.start * 1000))),
                    "end_ms": max(0, int(round(seg.end * 1000))),
                    "text": text,
                }
            )
        percent = min(100, int(100 * seg.end / duration_s)) if duration_s > 0 else 100
        send({"id": rid, "type": "progress", "percent": percent})
    send({"id": rid, "type": "done", "duration_ms": int(round(duration_s * 1000))})


def main():
    p = argparse.ArgumentParser(description="Hotline transcription worker (faster-whisper, JSON lines)")
    p.add_argument("--model", required=True, help="directory of a CTranslate2 Whisper model")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--beam-size", type=int, default=1)
    p.add_argument("--vad-filter", action="store_true")
    args = p.parse_args()
    try:
        model = load_model(args)
    except Exception as e:
        send({"type": "error", "message": f"cannot load the model from {args.model}: {type(e).__name__}: {e}"})
        sys.exit(2)
    send({"type": "ready", "model": args.model})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            send({"id": None, "type": "error", "message": f"bad request line: {e}"})
            continue
        try:
            transcribe(model, args, req)
        except Exception as e:
            send({"id": req.get("id"), "type": "error", "message": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
