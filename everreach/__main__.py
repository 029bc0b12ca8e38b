"""`python -m everreach ...` is the `everreach` command."""

from everreach.cli import main

main()
