"""Click in Korean for the `flask` commands admins run.

Click writes its own words ("Usage:", "Error: Missing argument ...", "Aborted!") in
English. `KoreanGroup` (a Flask `AppGroup`) and `KoreanCommand` translate them with a
small regex catalog: help and usage text on the way out, and every error raised while
parsing or running one of their commands, re-raised as an error that prints Korean.
"""

import logging
import re
from contextlib import contextmanager

import click
from flask.cli import AppGroup

CATALOG = [
    (r"^Usage:", "사용법:"),
    (r"^Options:$", "옵션:"),
    (r"^Commands:$", "명령:"),
    (r"^Arguments:$", "인자:"),
    (r"Show this message and exit\.", "이 도움말을 보여 주고 끝냅니다."),
    (r"\[default: ([^\]]*)\]", r"[기본값: \1]"),
    (r"\[required\]", "[필수]"),
    (r"\[OPTIONS\]", "[옵션]"),
    (r"COMMAND \[ARGS\]\.\.\.", "명령 [인자]..."),
    (r"Missing argument '([^']+)'\.", r"인자 '\1'가 필요합니다."),
    (r"Missing option '([^']+)'\.", r"옵션 '\1'가 필요합니다."),
    (r"Missing parameter '([^']+)'\.", r"값 '\1'가 필요합니다."),
    (r"No such option: (\S+)", r"없는 옵션입니다: \1"),
    (r"No such option '([^']+)'\.", r"없는 옵션입니다: \1"),
    (r"No such command '([^']+)'\.", r"없는 명령입니다: '\1'."),
    (r"Did you mean (\S+)\?", r"\1 을(를) 쓰려고 하셨나요?"),
    (r"\(Possible options: ([^)]*)\)", r"(가능한 옵션: \1)"),
    (r"Option '([^']+)' requires an argument\.", r"옵션 '\1'에는 값이 필요합니다."),
    (r"Option '([^']+)' requires (\d+) arguments\.", r"옵션 '\1'에는 값이 \2개 필요합니다."),
    (r"Got unexpected extra arguments? \(([^)]*)\)", r"예상하지 못한 인자가 있습니다: \1"),
    (r"Invalid value for '([^']+)': ", r"'\1'의 값이 잘못되었습니다: "),
    (r"Invalid value: ", "값이 잘못되었습니다: "),
    (r"'([^']*)' is not a valid integer( range)?\.", r"'\1'은(는) 올바른 정수가 아닙니다."),
    (r"'([^']*)' is not a valid float( range)?\.", r"'\1'은(는) 올바른 숫자가 아닙니다."),
    (r"'([^']*)' is not one of (.*)\.$", r"'\1'은(는) 다음 중 하나가 아닙니다: \2."),
    (r"'([^']*)' is not (.*)\.$", r"'\1'은(는) 다음 중 하나여야 합니다: \2."),
    (r"(File|Directory|Path) '([^']*)' does not exist\.", r"경로 '\2'가 없습니다."),
    (r"File '([^']*)' is a directory\.", r"'\1'은(는) 파일이 아니라 폴더입니다."),
    (r"Directory '([^']*)' is a file\.", r"'\1'은(는) 폴더가 아니라 파일입니다."),
    (r"(File|Directory|Path) '([^']*)' is not readable\.", r"'\2'을(를) 읽을 수 없습니다."),
    (r"The two entered values do not match\.", "두 번 입력한 값이 다릅니다."),
    (r"Repeat for confirmation", "확인을 위해 한 번 더 입력하세요"),
    (r"Aborted!", "중단했습니다."),
    (r"^Error: ", "오류: "),
]
log = logging.getLogger(__name__)
_COMPILED = [(re.compile(pattern, re.MULTILINE), repl) for pattern, repl in CATALOG]


def translate(text):
    """Click's English phrases in `text`, in Korean; anything else unchanged."""
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return text


class KoreanUsageError(click.UsageError):
    """A usage error that prints the Korean usage line, hint and message."""

    def show(self, file=None):
        err = file is None  # like Click: stderr unless told otherwise
        if self.ctx is not None:
            click.echo(self.ctx.get_usage(), file=file, err=err, color=self.ctx.color)
            option = self.ctx.help_option_names[0] if self.ctx.help_option_names else "--help"
            hint = f"도움말은 '{self.ctx.command_path} {option}' 로 봅니다.\n"
            click.echo(hint, file=file, err=err)
        click.echo(f"오류: {self.format_message()}", file=file, err=err)


class KoreanClickException(click.ClickException):
    def show(self, file=None):
        click.echo(f"오류: {self.format_message()}", file=file, err=file is None)


@contextmanager
def korean_errors():
    """Re-raise Click's errors (and Ctrl-C's Abort) with Korean messages."""
    try:
        yield
    except (KoreanUsageError, KoreanClickException, click.exceptions.Exit):
        raise
    except click.UsageError as exc:
        error = KoreanUsageError(translate(exc.format_message()), exc.ctx)
        error.exit_code = exc.exit_code
        raise error from None
    except click.ClickException as exc:
        error = KoreanClickException(translate(exc.format_message()))
        error.exit_code = exc.exit_code
        raise error from None
    except click.Abort:
        click.echo("중단했습니다.", err=True)
        raise click.exceptions.Exit(1) from None
    except Exception as exc:
        # Never a raw traceback for an admin: the details go to the log under a reference.
        from pybo.incidents import report

        if "no such table" in str(exc) or "UndefinedTable" in type(exc.__cause__).__name__:
            log.info("database not migrated: %s", exc)
            raise KoreanClickException(
                "데이터베이스가 준비되지 않았습니다. `flask db upgrade` 를 먼저 실행하세요."
            ) from exc
        raise KoreanClickException(report("명령을 실행하지 못했습니다", exc, log)) from exc


class _Korean:
    def get_usage(self, ctx):
        return translate(super().get_usage(ctx))

    def get_help(self, ctx):
        return translate(super().get_help(ctx))

    def make_context(self, info_name, args, parent=None, **extra):
        with korean_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with korean_errors():
            return super().invoke(ctx)


class KoreanCommand(_Korean, click.Command):
    """A command whose help, usage and errors are in Korean."""


class KoreanGroup(_Korean, AppGroup):
    """A Flask command group (app context included) whose commands speak Korean."""

    command_class = KoreanCommand


KoreanGroup.group_class = KoreanGroup


def prompt_password(label="비밀번호"):
    """Ask twice with hidden input until both match (Click's own loop speaks English)."""
    while True:
        first = click.prompt(label, hide_input=True)
        second = click.prompt(f"{label} 확인", hide_input=True)
        if first == second:
            return first
        click.echo("오류: 두 번 입력한 값이 다릅니다. 다시 입력하세요.", err=True)
