"""A verifier server in a process of its own, for the crash test (tests/verifier/test_crash.py).

Run as ``python -m tests.verifier.crash_server CONFIG.json``. It binds 127.0.0.1 on an
ephemeral port and listens before it prints the port on stdout, so a client may connect as
soon as it has read that line (connections wait in the listen queue while uvicorn starts).
The clock stands still at the config's ``now``. The parent kills it with SIGKILL.
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import datetime

import uvicorn

from did_agents.clock import FixedClock
from did_agents.policy import parse_policy
from verifier.app import create_app
from verifier.settings import VerifierSettings


def main(config_path: str) -> None:
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    settings = VerifierSettings(
        base_url=config["base_url"],
        database_url=config["database_url"],
        keystore_path=config["keystore"],
        keystore_key=config["keystore_key"],
    )
    app = create_app(
        settings,
        policy=parse_policy(config["policy"]),
        clock=FixedClock(datetime.fromisoformat(config["now"])),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1])
