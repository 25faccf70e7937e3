"""Entry point Node spawns: `python -m dspex_bridge.worker --run-id R --worker-id W [...]`.

Frames travel on the fds named by DSPEX_BRIDGE_IN_FD (default 3) and DSPEX_BRIDGE_OUT_FD (default 4);
stdout and stderr stay plain text for Node to turn into log lines.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence

from .framing import DEFAULT_MAX_FRAME_BYTES
from .lifecycle import arm_worker_lifetime, watch_parent
from .server import EXIT_STARTUP, Server, ServerOptions
from .startup import build_grant, load_commands, report_startup_failure

BUILTIN_COMMAND_MODULES = [
    "dspex_bridge.commands.core",
    "dspex_bridge.commands.programs",
    "dspex_bridge.commands.evaluation",
    "dspex_bridge.commands.optimize",
    "dspex_bridge.commands.propose",
    "dspex_bridge.commands.study",
]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dspex_bridge.worker", description=__doc__)
    parser.add_argument("--run-id", required=True, help="id of the Node runtime run (for the orphan sweeper)")
    parser.add_argument("--worker-id", required=True, help="this worker's id, echoed in the ready frame")
    parser.add_argument("--commands", default="", help="comma-separated modules whose @command functions to load")
    parser.add_argument("--allow", default=None,
                        help="comma-separated glob patterns of granted classes (default: the default grant table)")
    parser.add_argument("--grant", default=None, help="JSON map of class path -> grant entry (python.grant)")
    parser.add_argument("--save-dir", default=None, help="the only directory save/load may name files in")
    parser.add_argument("--allow-pickle", action="store_true", help="let save/load use .pkl files in --save-dir")
    parser.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME_BYTES)
    parser.add_argument("--max-threads", type=int, default=16, help="thread pool size for sync commands")
    return parser.parse_args(argv)


def _split(spec: str) -> list[str]:
    return [part.strip() for part in spec.split(",") if part.strip()]


def _fd_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not arm_worker_lifetime(args.run_id, args.worker_id):
        print(f"dspex_bridge: the owner of run {args.run_id} is gone; not starting", file=sys.stderr, flush=True)
        return EXIT_STARTUP
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        in_fd = _fd_from_env("DSPEX_BRIDGE_IN_FD", 3)
        out_fd = _fd_from_env("DSPEX_BRIDGE_OUT_FD", 4)
        for fd in (in_fd, out_fd):
            os.fstat(fd)
            # Grandchildren must not hold our pipes open, or Node would never see them close.
            os.set_inheritable(fd, False)
    except (OSError, ValueError) as exc:
        print(f"dspex_bridge: protocol fds are not usable: {exc}", file=sys.stderr, flush=True)
        return EXIT_STARTUP
    # The whole configuration is checked before serving: a wrong setting stops the worker with a fatal frame naming
    # it (Node refuses the pool with WorkerStartupFailed and starts no Python again for it).
    try:
        grant = build_grant(args.allow, args.grant, args.save_dir, args.allow_pickle)
        load_commands(BUILTIN_COMMAND_MODULES, _split(args.commands))
    except BaseException as exc:  # noqa: BLE001 - reported to Node, then exit
        print(f"dspex_bridge: cannot start: {exc}", file=sys.stderr, flush=True)
        if exc.__cause__ is not None:
            traceback.print_exception(type(exc.__cause__), exc.__cause__, exc.__cause__.__traceback__)
        report_startup_failure(out_fd, exc)
        return EXIT_STARTUP
    server = Server(
        ServerOptions(
            run_id=args.run_id,
            worker_id=args.worker_id,
            in_fd=in_fd,
            out_fd=out_fd,
            max_frame_bytes=args.max_frame_bytes,
            allow=grant,
            max_threads=args.max_threads,
        )
    )
    watch_parent(lambda: server.request_exit(0))
    return server.run()


def run() -> None:
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: it would join pool threads still running cancelled sync commands.
    os._exit(code)


if __name__ == "__main__":
    run()
