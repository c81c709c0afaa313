"""Cheap checks of a model folder, and load failures remembered across processes.

`folder_problem(path)` reads only `config.json` and the safetensors headers (a few KB),
so a page can call it on every view: a half-finished or damaged download is reported
in Korean before anything tries to load it. A load that still fails (wrong shapes, an
unsupported architecture) is remembered in a small JSON file next to the models, keyed
by the files' sizes and times: no process tries that model again until its files
change (a new download) or `flask models retry` clears the memory. No Flask here.
"""

import json
import logging
import os
import struct
import threading
from pathlib import Path

log = logging.getLogger(__name__)
MAX_HEADER = 100 * 1024 * 1024  # safetensors caps its JSON header at 100 MB
BROKEN = "모델 파일이 손상되었습니다. `flask models download --force` 로 다시 받으세요"


def _weights(path):
    return sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))


def safetensors_problem(file):
    """None when `file`'s header is readable and its tensors fit in the file."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                return "too short"
            (length,) = struct.unpack("<Q", raw)
            if length > min(MAX_HEADER, size - 8):
                return "header length beyond the file"
            header = json.loads(handle.read(length))
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"
    if not isinstance(header, dict):
        return "header is not an object"
    ends = [
        entry["data_offsets"][1]
        for key, entry in header.items()
        if key != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    if ends and 8 + length + max(ends) > size:
        return "truncated"
    return None


def folder_problem(path):
    """None when folder `path` looks loadable, else a short Korean reason (details logged)."""
    path = Path(path)
    configs = [path / name for name in ("config.json", "modules.json") if (path / name).is_file()]
    if not configs:
        return "config.json 이 없습니다 (다운로드가 끝나지 않았을 수 있습니다)"
    for config in configs:
        try:
            json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("model config %s unreadable: %s", config, exc)
            return BROKEN
    weights = _weights(path)
    if not weights:
        return "가중치 파일(*.safetensors)이 없습니다"
    for file in weights:
        problem = safetensors_problem(file) if file.suffix == ".safetensors" else None
        if problem is None and not os.access(file, os.R_OK):
            problem = "not readable"
        if problem:
            log.warning("model weights %s: %s", file, problem)
            return BROKEN
    return None


def fingerprint(location):
    """Sizes and modification times of a folder's files (a re-download changes it)."""
    path = Path(location)
    if not path.is_dir():
        return str(location)
    parts = []
    # onnx/: the embedder's export (`flask models optimize` rewrites it)
    for file in sorted(path.iterdir()) + sorted(path.glob("onnx/*.onnx")):
        if file.is_file():
            stat = file.stat()
            parts.append(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


class FailureMemory:
    """Load failures by model location, in a JSON file shared by every process (in
    memory only when `file` is empty)."""

    def __init__(self, file=""):
        self.file = Path(file) if file else None
        self._lock = threading.Lock()
        self._memory = {}

    def _read(self):
        if self.file is None:
            return dict(self._memory)
        try:
            return json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write(self, entries):
        if self.file is None:
            self._memory = entries
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.file.with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.file)

    def remember(self, location, reason):
        with self._lock:
            entries = self._read()
            entries[str(location)] = {"reason": reason, "fingerprint": fingerprint(location)}
            self._write(entries)

    def recall(self, location):
        """The remembered reason, unless the model's files changed since."""
        entry = self._read().get(str(location))
        if entry and entry.get("fingerprint") == fingerprint(location):
            return entry.get("reason")
        return None

    def clear(self):
        """Forget every failure; returns how many there were."""
        with self._lock:
            count = len(self._read())
            self._write({})
            return count
