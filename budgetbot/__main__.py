"""`python -m budgetbot` is the `budgetbot` command."""

from budgetbot.cli import main

main(prog_name="budgetbot")
