"""`python -m archc`: the same CLI as the `archc` command."""
from archc.cli import run

run()
