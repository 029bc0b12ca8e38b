"""`python -m everreach_cli ...` is the `everreach` command."""

from everreach_cli.commands import main

main()
