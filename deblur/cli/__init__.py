"""The ``deblur`` command line: a thin click layer over the Python API, one module per command group.

Each command parses its options into a config object, calls one library function and prints a short summary.
Errors caused by input (a missing folder, a bad kernel file, an invalid option) print one line and exit with a
non-zero code, without a traceback (``deblur --debug`` shows it).
"""

from __future__ import annotations

import sys

import click

import deblur
from deblur.cli.bench import bench_command
from deblur.cli.gan import gan
from deblur.cli.options import BROKEN_PIPE_EXIT, DeblurGroup, silence_stdout
from deblur.cli.restore import restore_command
from deblur.cli.synth import kernels, synth
from deblur.cli.train import export_command, train_command


@click.group(cls=DeblurGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(deblur.__version__, "-V", "--version", prog_name="deblur")
@click.option("--debug", is_flag=True, help="Show the full traceback of unexpected errors.")
def cli(debug: bool) -> None:
    """Remove blur from photographs with adversarial networks.

    \b
    Commands:
      synth    make (blurred, sharp) pairs from a folder of sharp photos, with the kernels used
      kernels  draw a grid of random blur kernels of one kind, for a quick look
      restore  deblur photos (files, folders, globs) with the shipped default model or --model
      train    train a deblurring model (U-Net vs PatchGAN) from a folder of sharp photos
      export   write a trained run as a self-describing .safetensors model file
      bench    PSNR/SSIM tables of models against the blurred input and classical deconvolution
      gan      train, sample and score the classic GANs (2014 MLP, DCGAN, cGAN, LAPGAN, BEGAN)

    Run `deblur COMMAND --help` for the options of each command.
    """


for command in (synth, kernels, restore_command, train_command, export_command, bench_command, gan):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``deblur`` console script. A closed standard output (``deblur ... | head``) ends it
    quietly with code 141, as a shell reports SIGPIPE."""
    try:
        cli(prog_name="deblur")
    except BrokenPipeError:
        silence_stdout()
        sys.exit(BROKEN_PIPE_EXIT)
