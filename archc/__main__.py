"""`python -m archc` and the `archc` command: the CLI (archc/cli/). `archc --version` alone is answered
here, before the command line's modules (typer, every command's options) are loaded."""
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from archc.version import VERSION

        print(f"archc {VERSION}")
        return
    from archc.cli import run

    run()


if __name__ == "__main__":
    main()
