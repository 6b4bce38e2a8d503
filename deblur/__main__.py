"""``python -m deblur`` runs the command line."""

from deblur.cli import main

main()
