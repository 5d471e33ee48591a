"""``wschaos client``: the interactive client, driven through stdin in a real subprocess."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from client import ConnectionState, status_text

S = ConnectionState


class Session:
    """A running ``python -m chaos client ...`` whose output lines can be awaited."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, fragment: str, timeout: float = 10.0) -> str:
        """Read lines until one contains ``fragment``; return it."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"output ended before {fragment!r}: {self.lines}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                if fragment in line:
                    return line


async def start(*args: str) -> Session:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chaos",
        "client",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    return Session(process)


async def test_interactive_session_with_answers_status_and_reconnect_now(emulator, control):
    session = await start(emulator.ws_url, "--rest-url", emulator.rest_url, "--time-scale", "600")
    try:
        await session.expect(f"status: {status_text(S.CONNECTED)}")
        await session.send("EC2 spend last month")
        await session.expect("progress: ")
        answer = await session.expect("answer (")
        assert answer.startswith("answer (websocket, ") and '"currency": "USD"' in answer

        # An abrupt close by the gateway: the status line follows the background reconnect.
        (connection,) = await control.connections()
        await control.close(connection["connectionId"], abrupt=True)
        await session.expect("status: WebSocket: Reconnecting (1/3)...")
        await session.expect(f"status: {status_text(S.CONNECTED)}")

        # A close frame: DISCONNECTED, with the "Reconnect Now" hint; /reconnect connects at once.
        (connection,) = await control.connections()
        await control.close(connection["connectionId"], code=1001, reason="Going away")
        line = await session.expect(f"status: {status_text(S.DISCONNECTED)}")
        assert "/reconnect" in line
        await session.send("/reconnect")
        await session.expect(f"status: {status_text(S.CONNECTING)}")
        await session.expect(f"status: {status_text(S.CONNECTED)}")

        await session.send("/status")
        await session.expect(f"status: {status_text(S.CONNECTED)}")
        await session.send("error: no such account")
        assert "no such account" in await session.expect("error: query ")
        await session.send("/quit")
        await session.expect("bye")
        assert await asyncio.wait_for(session.process.wait(), 10) == 0
    finally:
        if session.process.returncode is None:
            session.process.kill()
            await session.process.wait()


async def test_end_of_input_waits_for_the_query_then_exits(emulator, control):
    session = await start(emulator.ws_url, "--rest-url", emulator.rest_url, "--time-scale", "600")
    assert session.process.stdin is not None
    session.process.stdin.write(b"S3 spend\n")
    session.process.stdin.close()  # end of input right after the query
    stdout, stderr = await asyncio.wait_for(session.process.communicate(), 15)
    assert session.process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "answer (websocket, " in output
    assert output.rstrip().endswith("bye")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/prod"], "URL: 'http://127.0.0.1:1/prod': must be a ws://"),
        (["ws://127.0.0.1:1/prod", "--rest-url", "ftp://x"], "--rest-url: 'ftp://x': must be"),
    ],
)
async def test_bad_options_are_one_line_and_exit_2(args, message):
    session = await start(*args)
    _, stderr = await asyncio.wait_for(session.process.communicate(), 15)
    assert session.process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert lines[0].startswith("wschaos client: error: ")


def test_a_bad_time_scale_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from chaos.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["client", "ws://127.0.0.1:1/prod", "--time-scale", "-1"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(
        "wschaos client: error: argument --time-scale: '-1': must be a positive number\n"
    )
