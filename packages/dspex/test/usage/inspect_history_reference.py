"""Prints what DSPy's pretty_print_history writes for the history entries on stdin, for inspect_history.test.ts.

stdin: {"entries": [...DSPy-shaped history entries...], "ns": [1, 2, ...]}
stdout: {"plain": {n: text}, "colored": {n: text}}: plain as written to a file, colored as printed to stdout.
"""

import contextlib
import io
import json
import sys

from dspy.utils.inspect_history import pretty_print_history


def main() -> None:
    request = json.load(sys.stdin)
    entries = request["entries"]
    plain: dict[str, str] = {}
    colored: dict[str, str] = {}
    for n in request["ns"]:
        file = io.StringIO()
        pretty_print_history(entries, n, file=file)
        plain[str(n)] = file.getvalue()
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            pretty_print_history(entries, n)
        colored[str(n)] = captured.getvalue()
    sys.stdout.write(json.dumps({"plain": plain, "colored": colored}))


if __name__ == "__main__":
    main()
