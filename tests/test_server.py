"""The daphne launcher (`python -m notifications.server`) over real sockets."""

import asyncio
import json
import shutil
import socket
import subprocess

import pytest
import websockets
from websockets.frames import Close

from notifications.api import apublish
from notifications.server import text_frame_header, with_backlog
from tests.clients import WebSocketClient, logged_in_users

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_tcp_endpoints_get_a_backlog():
    assert with_backlog("tcp:port=8000:interface=127.0.0.1") == (
        "tcp:port=8000:interface=127.0.0.1:backlog=1024"
    )
    assert with_backlog("tcp:port=1:backlog=64") == "tcp:port=1:backlog=64"
    assert with_backlog("unix:/run/app.sock") == "unix:/run/app.sock"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frame_headers_parse_as_the_protocol_defines(size):
    from websockets.frames import Frame, Opcode
    from websockets.streams import StreamReader

    payload = b"x" * size
    reader = StreamReader()
    reader.feed_data(text_frame_header(size) + payload)
    parsing = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as parsed:
        next(parsing)
    frame = parsed.value.value
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


async def test_invalid_utf8_is_closed_with_1007_and_the_server_stays_healthy(daphne, make_user):
    _, session = await make_user("alice")
    server = daphne()
    bad = await WebSocketClient.connect(server.ws, session=session)
    await bad.next("welcome")
    await bad.connection.send(b'{"type": "ping", "id": "\xff"}', text=True)
    async with asyncio.timeout(5):
        assert await bad.closed == 1007
    assert isinstance(bad.connection.protocol.close_rcvd, Close)
    good = await WebSocketClient.connect(server.ws, session=session)
    await good.send({"type": "ping", "id": 1})
    assert (await good.next("pong"))["id"] == 1
    await good.close()


async def test_a_slow_reader_of_large_frames_gets_every_byte_in_order(
    daphne, make_user, redis_layer
):
    """Frames larger than the socket takes at once: the rest waits in the server and leaves
    when the reader reads again, behind nothing and before what follows."""
    _, session = await make_user("alice")
    server = daphne(NOTIFICATIONS_MAX_UNACKED_BYTES="64000000")
    slow = await connect_with_receive_buffer(server, session, 16384, max_size=None)
    pads = [chr(ord("a") + n % 26) * (150_000 + n) for n in range(30)]
    for n, pad in enumerate(pads):
        await apublish("broadcast", "bulk", {"n": n, "pad": pad})
    await asyncio.sleep(1)
    events = []
    async with asyncio.timeout(30):
        while len(events) < len(pads):
            content = json.loads(await slow.recv())
            frames = content if isinstance(content, list) else [content]
            events += [frame for frame in frames if frame["type"] == "event"]
    assert [event["seq"] for event in events] == list(range(1, len(pads) + 1))
    assert [event["data"]["pad"] for event in events] == pads
    await slow.close()


@pytest.mark.stress
async def test_a_reader_that_stops_reading_for_seconds_still_gets_its_4429_close_frame(
    daphne, make_user, redis_layer
):
    """Megabytes are in flight when the queue overflows (the reader's receive buffer is
    small), so the close frame waits behind them in the server until the reader reads again."""
    _, session = await make_user("alice")
    server = daphne(
        NOTIFICATIONS_MAX_UNACKED_BYTES="16000000", NOTIFICATIONS_MAX_BUFFERED_EVENTS="50"
    )
    stalled = await connect_with_receive_buffer(server, session, 65536)
    for n in range(400):
        await apublish("broadcast", "bulk", {"n": n, "pad": "x" * 60000})
    await asyncio.sleep(4)
    seen = await read_until_closed(stalled)
    assert stalled.close_code == 4429
    events = [frame["seq"] for frame in seen if frame["type"] == "event"]
    assert 50 < len(events) < 400
    assert events == list(range(1, len(events) + 1))


async def connect_with_receive_buffer(server, session, size, **options):
    """A broadcast reader whose socket holds at most `size` bytes, reading one frame at a
    time: what it does not read stays in the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    return await websockets.connect(
        f"{server.ws}/ws/live/?stream=broadcast&since=0",
        additional_headers={"Origin": server.http, "Cookie": f"sessionid={session}"},
        max_queue=1,
        sock=sock,
        **options,
    )


async def read_until_closed(connection, timeout=30):
    frames = []
    async with asyncio.timeout(timeout):
        try:
            async for text in connection:
                content = json.loads(text)
                frames += content if isinstance(content, list) else [content]
        except websockets.ConnectionClosed:
            pass
    return frames


def listen_backlog(port):
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    )
    return int(listing.stdout.split()[2])


@pytest.mark.stress
async def test_a_thousand_clients_reconnecting_at_once_are_all_served(daphne, redis):
    """A reconnect storm: every client resumes with its cursor in the same instant."""
    users = await logged_in_users(1000)
    server = daphne()
    if shutil.which("ss"):
        assert listen_backlog(server.port) >= 1000
    for n in range(5):
        await apublish("broadcast", "announcement", {"n": n})
    clients = await asyncio.gather(
        *(
            WebSocketClient.connect(
                server.ws, "/ws/live/?stream=broadcast&since=2", session=session, open_timeout=60
            )
            for _, session in users
        ),
        return_exceptions=True,
    )
    refused = [repr(client) for client in clients if isinstance(client, BaseException)]
    assert refused == []
    replays = await asyncio.gather(*(client.events(3, timeout=60) for client in clients))
    assert all([event["seq"] for event in replay] == [3, 4, 5] for replay in replays)
    await asyncio.gather(*(client.close() for client in clients))
