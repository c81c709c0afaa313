"""Heavy libraries imported and models built by two threads at once (issue 9).

The first question after a restart, while an upload was being indexed, failed with
`cannot import name 'AutoModelForCausalLM' from 'transformers'`: two threads resolved
transformers' lazy attributes at the same moment. Imports are only cold in a fresh
process, so the race runs in a subprocess."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys, threading, traceback
    from pybo.knowledge import providers

    embedder, llm = sys.argv[1], sys.argv[2]
    barrier = threading.Barrier(3)
    failures = []

    def load(loader, location):
        barrier.wait()
        try:
            loader(location, "cpu")
        except BaseException:
            failures.append(traceback.format_exc())

    threads = [
        threading.Thread(target=load, args=(providers.load_embeddings, embedder)),
        threading.Thread(target=load, args=(providers.load_llm, llm)),
        threading.Thread(target=load, args=(providers.load_llm, llm)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("FAILURES", len(failures))
    for failure in failures:
        print(failure)
    """
)


def test_cold_imports_and_loads_from_three_threads(tiny_models):
    from tests.fixtures.live import process_env

    env = process_env({key: "" for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR",
                       "VECTOR_STORE_DIR", "EMBEDDING_MODEL", "LLM_MODEL", "CHROMA_COLLECTION",
                       "CHROMA_HOST", "CHROMA_PORT")})  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, tiny_models["embedding"], tiny_models["llm"]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FAILURES 0" in result.stdout, result.stdout[-3000:]
