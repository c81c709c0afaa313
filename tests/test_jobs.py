"""Ingestion jobs: leases, crash recovery, cancellation, retries; a real Celery worker."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from pybo.extensions import db
from pybo.models import now
from pybo.rag_chat import ingest_job, runtime
from pybo.rag_chat.models import Chunk, Document
from tests.fixtures.live import process_env
from tests.fixtures.pdfs import KOREAN_PAGES, pdf_bytes
from tests.fixtures.rag import document_states, login, make_rag_app, upload, wait_jobs

ROOT = Path(__file__).resolve().parent.parent


def long_pdf(pages=120):
    return pdf_bytes([f"{i}번째 쪽. " + KOREAN_PAGES[i % 3] for i in range(pages)])


def _chunk_rows(app, document_id):
    with app.app_context():
        query = db.select(db.func.count(Chunk.id)).where(Chunk.document_id == document_id)
        return db.session.scalar(query)


def _vectors(app, owner_id, document_id):
    with app.app_context():
        return runtime.retriever().count(f"u{owner_id}", str(document_id))


def _stuck(app, client, data, status, age_seconds):
    """Upload without running the job, then leave the row as a crash would."""
    with app.app_context():
        runner = runtime.runner()
        submit, runner.submit = runner.submit, lambda *a, **k: None
    try:
        upload(client, data)
    finally:
        runner.submit = submit
    state = document_states(client)[0]  # newest first
    with app.app_context():
        document = db.session.get(Document, state["id"])
        document.status = status
        document.job_token = "dead-worker" if status == "processing" else None
        db.session.commit()
        db.session.execute(
            db.update(Document)
            .where(Document.id == state["id"])
            .values(update_date=now() - timedelta(seconds=age_seconds))
        )
        db.session.commit()
    return state["id"]


def test_lease_blocks_a_second_job_until_it_expires(rag_app, rag_client, korean_pdf):
    login(rag_client)
    document_id = _stuck(rag_app, rag_client, korean_pdf, "processing", age_seconds=5)
    with rag_app.app_context():
        assert ingest_job.claim(document_id) is None  # a live job holds it (lease 120 s)
        rag_app.config["JOB_LEASE_SECONDS"] = 2
        token = ingest_job.claim(document_id)  # 5 s silent > 2 s lease: presumed dead
        assert token and token != "dead-worker"
        with pytest.raises(ingest_job.Cancelled):
            ingest_job.write(document_id, "dead-worker", pages_done=1)  # the old job stops


def test_recovery_after_a_crash_finishes_without_duplicates(rag_app, rag_client, korean_pdf):
    rag_app.config["JOB_LEASE_SECONDS"] = 1
    login(rag_client)
    pending = _stuck(rag_app, rag_client, korean_pdf, "pending", age_seconds=0)
    crashed = _stuck(rag_app, rag_client, long_pdf(6), "processing", age_seconds=30)
    with rag_app.app_context():  # half-written chunks from the crashed run
        half = Chunk(document_id=crashed, space="u1", source=str(crashed), title="",
                     chunk_index=0, page=1, text="반쯤 쓴 청크", tokens="반쯤")  # fmt: skip
        db.session.add(half)
        db.session.commit()
        plan = {key: delay for _, key, delay in runtime.runner().recover()}
    assert plan[pending] == 0 and plan[crashed] == pytest.approx(1.0, abs=0.5)
    deadline = time.time() + 180  # generous: only a failure waits this long
    while time.time() < deadline and {d["status"] for d in document_states(rag_client)} != {
        "ready"
    }:
        time.sleep(0.2)
    wait_jobs(rag_app)
    for state in document_states(rag_client):
        assert state["status"] == "ready", state
        assert _chunk_rows(rag_app, state["id"]) == state["chunks_total"]
        assert _vectors(rag_app, 1, state["id"]) == state["chunks_total"]


def test_deleting_a_document_cancels_its_job(rag_app, rag_client):
    rag_app.config["INGEST_BATCH_SIZE"] = 1
    login(rag_client)
    upload(rag_client, long_pdf(80))
    deadline = time.time() + 180  # generous: only a failure waits this long
    state = None
    while time.time() < deadline:
        (state,) = document_states(rag_client)
        if state["status"] == "processing" and state["chunks_done"] > 0:
            break
        time.sleep(0.02)
    assert state["status"] == "processing", state
    rag_client.post(f"/chat/documents/{state['id']}/delete")
    wait_jobs(rag_app)
    assert document_states(rag_client) == []
    assert _chunk_rows(rag_app, state["id"]) == 0
    assert _vectors(rag_app, 1, state["id"]) == 0


def test_transient_errors_are_retried(rag_app, rag_client, korean_pdf, monkeypatch):
    from pybo.knowledge.hybrid import HybridRetriever

    original, calls = HybridRetriever.add, []

    def flaky(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HybridRetriever, "add", flaky)
    rag_app.config["JOB_RETRY_SECONDS"] = 0.1
    login(rag_client)
    upload(rag_client, korean_pdf)
    deadline = time.time() + 180  # generous: only a failure waits this long
    while time.time() < deadline and document_states(rag_client)[0]["status"] != "ready":
        time.sleep(0.1)
    (state,) = document_states(rag_client)
    assert state["status"] == "ready" and len(calls) >= 2
    assert _chunk_rows(rag_app, state["id"]) == state["chunks_total"]


# ---- a real Celery worker on the machine's Redis --------------------------------------

REDIS_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


def _redis_up():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


celery_only = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def celery_app_env(tmp_path, tiny_models):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = {"CELERY_BROKER_URL": REDIS_URL, "JOB_LEASE_SECONDS": 3, "INGEST_BATCH_SIZE": 1}
    app = make_rag_app(tmp_path, tiny_models, **settings)
    with app.app_context():
        from pybo.auth import service

        service.signup("alice", "alice@example.com", "password123")
    env = process_env(app.config, PYBO_CONFIG="development", **settings)
    workers = []

    def start_worker():
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pybo.worker", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--hostname",
             f"test{len(workers)}@%h"],
            cwd=ROOT, env=env, stdout=open(tmp_path / f"worker{len(workers)}.log", "w"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        workers.append(process)
        return process

    yield app, start_worker
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_state(client, predicate, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        states = document_states(client)
        if states and predicate(states[0]):
            return states[0]
        time.sleep(0.05)
    raise AssertionError(f"timed out; last state {document_states(client)}")


@celery_only
@pytest.mark.slow
def test_celery_worker_ingests_a_pdf(celery_app_env, korean_pdf):
    app, start_worker = celery_app_env
    start_worker()
    client = app.test_client()
    login(client)
    upload(client, korean_pdf)
    state = _wait_state(client, lambda s: s["status"] in ("ready", "failed"))
    assert state["status"] == "ready", state
    assert _chunk_rows(app, state["id"]) == state["chunks_total"] > 0


@celery_only
@pytest.mark.slow
def test_killed_worker_is_recovered_without_duplicates(celery_app_env):
    app, start_worker = celery_app_env
    first = start_worker()
    client = app.test_client()
    login(client)
    upload(client, long_pdf(150))
    _wait_state(client, lambda s: s["status"] == "processing" and s["chunks_done"] > 2)
    os.killpg(first.pid, signal.SIGKILL)  # the worker dies mid-document
    first.wait(10)
    stuck = document_states(client)[0]
    assert stuck["status"] == "processing" and stuck["chunks_done"] < stuck["chunks_total"]
    start_worker()  # recovery on start: queued for when the dead worker's lease ends
    state = _wait_state(client, lambda s: s["status"] in ("ready", "failed"), seconds=300)
    assert state["status"] == "ready", state
    assert _chunk_rows(app, state["id"]) == state["chunks_total"]
    assert _vectors(app, 1, state["id"]) == state["chunks_total"]


def test_a_restarted_server_recovers_on_its_first_request(rag_app, rag_client, korean_pdf):
    """A server app (not testing, as under run.sh) starts its runner, and with it the
    recovery, on the first request; a document the previous run left pending is indexed."""
    from pybo import create_app
    from tests.conftest import make_test_config

    login(rag_client)
    document_id = _stuck(rag_app, rag_client, korean_pdf, "pending", age_seconds=0)
    keep = ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "VECTOR_STORE_DIR", "CHROMA_COLLECTION",
            "CHROMA_HOST", "CHROMA_PORT", "EMBEDDING_MODEL", "LLM_MODEL")  # fmt: skip
    settings = {key: rag_app.config[key] for key in keep}
    restarted = create_app(make_test_config(Path("/unused"), TESTING=False, **settings))
    assert "runner" not in restarted.extensions["rag_chat"]
    restarted.test_client().get("/question/list/")  # any first request
    assert "runner" in restarted.extensions["rag_chat"]
    wait_jobs(restarted)
    assert _chunk_rows(rag_app, document_id) > 0
