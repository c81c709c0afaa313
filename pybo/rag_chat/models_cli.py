"""`flask models ...`: the model files under resources/models/."""

import logging
import os
from pathlib import Path

import click
from flask import current_app

from pybo.common.cli import KoreanGroup
from pybo.incidents import report
from pybo.knowledge.providers import model_problem
from pybo.rag_chat import runtime

log = logging.getLogger(__name__)
models_cli = KoreanGroup("models", help="resources/models/ 의 모델 파일을 관리합니다.")


def hub_reachable(timeout=3.0):
    """True when the Hugging Face hub answers within `timeout` seconds."""
    import socket

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


LAYOUT = {
    "embedding": "config.json, model.safetensors, tokenizer.json, modules.json, "
    "sentence_bert_config.json, 1_Pooling/config.json",
    "llm": "config.json, model-*.safetensors, model.safetensors.index.json, tokenizer.json, "
    "tokenizer_config.json",
}


def _shown(path):
    """A model folder as the admin would type it: relative to the current folder if inside."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path) + "/"


def offline_steps(missing):
    """What to do without the hub, in Korean: a token and the Gemma licence, or copying."""
    lines = ["다음 중 하나를 하세요:"]
    gated = [repo for kind, repo, _ in missing if kind == "llm"]
    step = "1. 인터넷이 되는 곳에서"
    if gated:
        step += (
            f": https://huggingface.co/{gated[0]} 에서 Gemma 이용 약관에 동의하고, "
            "https://huggingface.co/settings/tokens 에서 읽기 토큰을 만들어 "
            "`export HF_TOKEN=hf_...` 를 설정한 뒤"
        )
    lines.append(f"{step} `flask models download` 를 다시 실행합니다.")
    lines.append("2. 다른 컴퓨터에서 받은 모델 폴더를 그대로 복사합니다:")
    for kind, repo, target in missing:
        lines.append(f"   {_shown(target)}  ← {repo} ({LAYOUT[kind]})")
    lines.append("   복사한 뒤 `flask rag status` 로 확인하세요.")
    return "\n".join(lines)


@models_cli.command("download", help="ko-sroberta와 Gemma-3n을 resources/models/ 로 받습니다.")
@click.option("--only", type=click.Choice(["embedding", "llm"]), help="한 모델만 받습니다.")
@click.option("--force", is_flag=True, help="폴더가 완전해 보여도 다시 받습니다.")
@click.option("--soft", is_flag=True, help="허브에 연결할 수 없으면 경고만 합니다 (run.sh).")
def download(only, force, soft):
    """Fetch ko-sroberta and Gemma-3n into resources/models/ (HF_TOKEN for Gemma)."""
    from huggingface_hub import snapshot_download

    config = current_app.config
    wanted = [
        ("embedding", config["EMBEDDING_HUB_ID"], config["EMBEDDING_MODEL"]),
        ("llm", config["LLM_HUB_ID"], config["LLM_MODEL"]),
    ]
    if config["LLM_BASE_URL"] and only != "llm":  # the server holds the LLM (README)
        wanted = wanted[:1]
    problems = {kind: model_problem(target) for kind, _, target in wanted}
    if not force and all(problems[kind] is None for kind, _, _ in wanted if kind == (only or kind)):
        click.echo("모델이 모두 준비되어 있습니다.")
        return
    if not hub_reachable():
        message = "Hugging Face hub에 연결할 수 없습니다 (네트워크 또는 HF_HUB_OFFLINE)."
        if soft:
            click.echo(f"{message} 모델 없이 시작합니다: 채팅은 모델을 받은 뒤 동작합니다.")
            click.echo("모델을 준비하는 방법: `flask models download` (인터넷 연결 필요).")
            return
        missing = [(kind, repo, target) for kind, repo, target in wanted
                   if (only or kind) == kind and (force or problems[kind])]  # fmt: skip
        raise click.ClickException(f"{message}\n{offline_steps(missing)}")
    for kind, repo_id, target in wanted:
        if only and kind != only:
            continue
        if not force and problems[kind] is None:
            click.echo(f"{kind}: 이미 있습니다 ({target})")
            continue
        click.echo(f"{kind}: {repo_id} -> {target}")
        try:
            snapshot_download(repo_id, local_dir=target, token=os.environ.get("HF_TOKEN"))
        except Exception as exc:  # noqa: BLE001 - gated repo, network, disk
            reason = report(f"{repo_id} 을(를) 받지 못했습니다", exc, log)
            raise click.ClickException(
                f"{reason}\n{offline_steps([(kind, repo_id, target)])}"
            ) from exc
        runtime.providers().forget(kind)
        if kind == "embedding":
            try:
                write_onnx_export(target)
            except click.ClickException as exc:  # the model itself is fine: torch serves it
                click.echo(f"{exc.message} 임베딩은 torch로 동작합니다 (`flask models optimize`).")


@models_cli.command(
    "text-export", help="`transformers serve` 가 LLM_MODEL 대신 읽을 폴더를 알려 줍니다."
)
def text_export():
    """Print the folder `transformers serve` should load for LLM_MODEL (run.sh --prod).

    A Gemma-3n checkpoint gets a text-only sibling folder (links, no copy) so the server
    loads the text tower alone; other models are printed as they are."""
    from pybo.knowledge.llm_server import text_only_folder

    location = current_app.config["LLM_MODEL"]
    problem = model_problem(location)
    if problem:
        raise click.ClickException(f"언어 모델이 없습니다: {problem} ({location})")
    click.echo(text_only_folder(location))


def write_onnx_export(location, force=False):
    """Export the embedder to ONNX (fp32 + int8) next to it, with progress in Korean."""
    import time

    from pybo.knowledge import onnx_module

    problem = model_problem(str(location))
    if problem:
        raise click.ClickException(f"임베딩 모델을 찾을 수 없습니다: {problem} ({location})")
    click.echo(f"임베딩 모델을 ONNX로 변환합니다 (CPU에서 더 빠르게 임베딩): {location}")
    started = time.monotonic()
    try:
        fp32, int8 = onnx_module.export(location, progress=click.echo, force=force)
    except Exception as exc:  # noqa: BLE001 - a broken folder, a full disk
        from pybo.incidents import report

        reason = report("ONNX 변환에 실패했습니다", exc, current_app.logger, at=str(location))
        raise click.ClickException(reason) from exc
    size = int8.stat().st_size / 1e6
    click.echo(
        f"완료 ({time.monotonic() - started:.0f}초): {int8.name} {size:.0f} MB. "
        "EMBEDDING_BACKEND=auto 이면 CPU에서 int8 모델을 씁니다."
    )
    runtime.providers().forget("embeddings")
    runtime.providers().forget("vector_store")


@models_cli.command("optimize")
@click.option("--force", is_flag=True, help="Export again even if the files exist.")
def optimize(force):
    """Write the embedder's ONNX export (fp32 + int8) next to the downloaded model."""
    write_onnx_export(current_app.config["EMBEDDING_MODEL"], force=force)


@models_cli.command(
    "retry", help="기억해 둔 모델 불러오기 실패를 지웁니다: 다음 요청이 모델을 다시 불러옵니다."
)
def retry():
    """A model that failed to load is not tried again until its files change; after
    fixing something else (memory, a library), this lets every process try again."""
    cleared = runtime.providers().retry()
    problems = {kind: problem for kind, problem in runtime.providers().status().items() if problem}
    click.echo(f"기억해 둔 실패 {cleared}건을 지웠습니다. 다음 요청에서 모델을 다시 불러옵니다.")
    for kind, problem in problems.items():
        click.echo(f"{'임베딩' if kind == 'embedding' else '언어'} 모델: {problem}")
