"""The `everreach` command line and the demo: the one package that imports both edges."""
