"""One `transformers serve` process for the local model, shared by every worker.

`shell/run.sh --prod` (and the tests and benchmarks) start it so the model is loaded
once per machine, not once per gunicorn worker; the workers reach it through
LLM_BASE_URL (pybo/knowledge/served.py).

`transformers serve` loads Gemma-3n (a multimodal checkpoint) with its vision and audio
towers, which need `timm` (never installed here, see STACK notes). `text_only_folder`
writes a folder next to it that holds the text tower's config and links to the same
weight and tokenizer files: the server then loads `Gemma3nForCausalLM` alone, the way
`providers.load_llm` does, without copying gigabytes.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Files of the original checkpoint the text-only folder links to (not processor files,
# which would make the server build the multimodal processor).
LINKED = ("generation_config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
          "special_tokens_map.json", "chat_template.jinja", "chat_template.json")  # fmt: skip


def text_only_folder(source, target=None):
    """The folder `transformers serve` should load for the model at `source`.

    A Gemma-3n checkpoint gets a text-only sibling `<source>-text` (config from its
    `text_config`, architecture `Gemma3nForCausalLM`, symlinks to weights and
    tokenizer); any other model is served from `source` itself. Idempotent."""
    source = Path(source).resolve()
    config = json.loads((source / "config.json").read_text())
    if config.get("model_type") != "gemma3n":
        return source
    target = Path(target) if target else source.with_name(source.name + "-text")
    target.mkdir(parents=True, exist_ok=True)
    text = dict(config["text_config"])
    text["architectures"] = ["Gemma3nForCausalLM"]
    text["model_type"] = "gemma3n_text"
    text.setdefault("dtype", config.get("dtype") or config.get("torch_dtype") or "bfloat16")
    (target / "config.json").write_text(json.dumps(text, indent=2, ensure_ascii=False))
    wanted = [source / name for name in LINKED]
    wanted += sorted(source.glob("*.safetensors")) + sorted(source.glob("*.safetensors.index.json"))
    for path in wanted:
        link = target / path.name
        if path.is_file() and not link.exists():
            if link.is_symlink():
                link.unlink()  # a dangling link from an earlier export
            link.symlink_to(path)
    return target


def serve_command(folder, port, host="127.0.0.1", device="cpu", dtype="bfloat16", extra=()):
    """argv for `transformers serve` pinned to `folder` (requests must name it); `extra`
    e.g. `["--continuous-batching"]` (batches concurrent requests, works on CPU too)."""
    return [str(Path(sys.executable).with_name("transformers")), "serve", str(folder),
            "--host", host, "--port", str(port), "--device", device, "--dtype", dtype,
            "--log-level", "warning", *extra]  # fmt: skip


def wait_until_healthy(url, process=None, timeout=600.0, interval=0.2):
    """Block until `GET <url>/health` answers 200; False when `process` exits first or
    the timeout passes (the server loads the model before it listens)."""
    import httpx

    root = url.rstrip("/").removesuffix("/v1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(root + "/health", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(interval)  # polling a state (the socket), with a deadline
    return False


def start(folder, port, log_path, device="cpu", env=None, extra=()):
    """Start `transformers serve` on `folder` in its own process group; returns Popen."""
    environment = {**os.environ, **(env or {})}
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    return subprocess.Popen(
        serve_command(folder, port, device=device, extra=extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,
    )
