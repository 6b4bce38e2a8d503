"""Pieces shared by the commands: the error-handling group, parameter types and option sets."""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from deblur.config import KERNEL_KINDS
from deblur.errors import DeblurError, DeblurWarning

BROKEN_PIPE_EXIT = 141
"""The exit code of a command whose standard output was closed (``deblur ... | head``): 128 + SIGPIPE, as a shell
reports a program killed by the signal."""


def silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush of the closed pipe is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor behind sys.stdout (a test's capture)
        pass


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


class DeblurGroup(click.Group):
    """A click group that turns :class:`DeblurError` into a one-line ``Error: ...`` and exit code 1.

    Every command runs with SIGTERM ending it as Ctrl-C does (``SystemExit(143)``): the file being written is removed
    (its temporary), finished files stay. The trainer replaces this handler with its own during its loop, which saves a
    checkpoint first. A closed standard output ends the command quietly with code 141, and the library's own warnings
    (:class:`~deblur.errors.DeblurWarning`) print as one ``Warning: ...`` line each.
    """

    def invoke(self, ctx: click.Context) -> Any:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _terminate)
        show = warnings.showwarning

        def one_line(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, DeblurWarning):  # the library's own notices: one line, no source line
                click.echo(f"Warning: {message}", err=True)
            else:
                show(message, category, *args, **kwargs)

        warnings.showwarning = one_line
        try:
            return self._invoke(ctx)
        finally:
            warnings.showwarning = show
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeblurError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except BrokenPipeError:  # stdout is a closed pipe: the work is done, and nothing more can be said
            silence_stdout()
            sys.exit(BROKEN_PIPE_EXIT)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug or an unforeseen input: one line, the traceback only with --debug
            if ctx.find_root().params.get("debug") or ctx.parent is not None:
                raise
            where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
            raise click.ClickException(
                f"{exc.__class__.__name__}{where}: {exc} (run with --debug for the traceback, and please report it)"
            ) from exc


SEED = click.IntRange(0, 2**63 - 1)
"""Seeds as torch takes them: 0 to 2^63 - 1."""


class RangeParam(click.ParamType):
    """``0.01`` (a fixed value) or ``0:0.02`` (a uniform range) -> ``(low, high)``."""

    name = "LOW[:HIGH]"

    def __init__(self, cast: type = float) -> None:
        self.cast = cast

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple:
        if isinstance(value, tuple):
            return value
        try:
            parts = [self.cast(v) for v in str(value).split(":")]
        except ValueError:
            self.fail(f"{value!r} is not a number or a LOW:HIGH range", param, ctx)
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            self.fail(f"{value!r} is not a number or a LOW:HIGH range", param, ctx)
        return tuple(parts)


class NamedPath(click.ParamType):
    """``NAME=PATH`` -> ``(NAME, Path)``."""

    name = "NAME=DIR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Path]:
        if isinstance(value, tuple):
            return value
        label, sep, path = str(value).partition("=")
        if not sep or not label or not path:
            self.fail(f"{value!r} is not NAME=DIR", param, ctx)
        return label, Path(path)


KIND_HELP = f"{', '.join(KERNEL_KINDS)} or bank:PATH (a folder of PNG/NPY kernels or a .mat file)"
PRECISION_HELP = "auto: bf16 on CUDA, fp32 elsewhere; bf16 also speeds up CPUs with bf16 instructions."


def kernel_kinds(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """Kernel kinds given as repeated and/or comma-separated options; None when none was given."""
    kinds = tuple(kind for value in values for kind in value.split(",") if kind)
    return kinds or None


def option_group(*flags: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator applying several click options, given in the order ``--help`` lists them."""

    def decorate(command: Any) -> Any:
        for flag in reversed(flags):
            command = flag(command)
        return command

    return decorate


def optim_options(decay_default: str) -> Callable[[Any], Any]:
    """The optimiser flags of both trainers (each one a key of ``OptimConfig``; unset flags stay None)."""
    return option_group(
        click.option("--optimizer", type=click.Choice(["adam", "sgd"]), help="Optimiser.  [default: adam]"),
        click.option(
            "--d-steps", type=int, help="Discriminator steps per generator step (k of Algorithm 1).  [default: 1]"
        ),
        click.option("--lr", type=float, help="Learning rate (both networks unless --lr-d).  [default: 0.0002]"),
        click.option("--lr-d", type=float, help="Discriminator learning rate."),
        click.option(
            "--lr-decay-from",
            type=float,
            help=f"Fraction of the steps after which learning rates fall linearly to 0.  [default: {decay_default}]",
        ),
        click.option("--ema", type=float, help="EMA decay of the generator; 0 turns it off.  [default: 0.999]"),
        click.option(
            "--ema-start",
            type=int,
            help="Generator steps during which the EMA copies the live weights; after them it decays at --ema itself. "
            "[default: none: the decay ramps up as min(ema, (1 + t) / (10 + t)), reaching 0.999 near 9,000 steps]",
        ),
        click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), help=PRECISION_HELP),
        click.option("--clip", type=float, help="Gradient-norm clip (0: off)."),
    )


run_options = option_group(
    click.option("--seed", type=SEED, help="Seed of data order, noise and initialisation.  [default: 0]"),
    click.option("--device", help="auto, cpu, cuda[:N] or mps.  [default: auto]"),
    click.option("--ckpt-every", type=int, help="Checkpoint every N steps.  [default: 1000]"),
    click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
)
"""Flags every training command ends with: seed, device, checkpoint period, resume, quiet."""


def config_file_option(what: str) -> Any:
    """``--config FILE``: a TOML or JSON file of settings (``what`` says which), under which the flags win."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path),
        help=f"TOML or JSON file of {what}; flags win.",
    )
