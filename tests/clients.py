"""Protocol clients over real sockets: WebSocket (answers pings) and SSE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.urls import path as route
from httpx_sse import ServerSentEvent, aconnect_sse

from notifications.routing import websocket_application

CSRF = "a" * 32


def _create_logged_in_users(count: int) -> list[tuple[Any, str]]:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"user{n}") for n in range(count)
    )
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append((user, store.session_key))
    return sessions


async def logged_in_users(count: int) -> list[tuple[Any, str]]:
    """`count` users, each with a logged-in session key (in bulk, faster than logging in)."""
    return await sync_to_async(_create_logged_in_users)(count)


async def publish_via(server: Any, session: str, stream: str, type: str, data: Any = None) -> Any:
    """Publish through a server process's REST API, as staff."""
    async with httpx.AsyncClient(cookies={"sessionid": session, "csrftoken": CSRF}) as client:
        response = await client.post(
            f"{server.http}/api/streams/{stream}/events/",
            json={"event": type, "data": data},
            headers={"X-CSRFToken": CSRF},
        )
    assert response.status_code == 201, response.text
    return response.json()


async def post_form(server: Any, session: str | None, path: str, **fields: str) -> httpx.Response:
    """A POST with the session cookie and a CSRF token, as a browser form would send it."""
    cookies = {"csrftoken": CSRF, **({"sessionid": session} if session else {})}
    async with httpx.AsyncClient(cookies=cookies) as client:
        return await client.post(
            server.http + path,
            data={"csrfmiddlewaretoken": CSRF, **fields},
            headers={"Referer": server.http + "/"},
        )


class WebSocketClient:
    """Reads frames (single objects or arrays), answers pings, keeps events and controls."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.get_running_loop().create_task(self._read())
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.answer_pings = True

    @classmethod
    async def connect(
        cls,
        base: str,
        path: str = "/ws/live/",
        *,
        session: str | None = None,
        origin: str | None = None,
        **kwargs: Any,
    ) -> WebSocketClient:
        headers = {"Origin": origin or base.replace("ws://", "http://")}
        if session:
            headers["Cookie"] = f"sessionid={session}"
        connection = await websockets.connect(base + path, additional_headers=headers, **kwargs)
        return cls(connection)

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                content = json.loads(text)
                for frame in content if isinstance(content, list) else [content]:
                    if frame["type"] == "ping" and self.answer_pings:
                        await self.connection.send(json.dumps({"type": "pong", "id": frame["id"]}))
                    await self.frames.put(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result(self.connection.close_code)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def next(self, *types: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame of one of `types` (skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if not types or frame["type"] in types:
                    return frame

    async def closed_or_welcomed(self) -> bool:
        """True once `welcome` arrives, False if the server closes the socket first."""
        welcome = asyncio.ensure_future(self.next("welcome"))
        await asyncio.wait([welcome, self.closed], return_when=asyncio.FIRST_COMPLETED)
        welcome.cancel()
        return not self.closed.done()

    def pending(self) -> list[dict[str, Any]]:
        """The frames received and not read yet."""
        frames = []
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return frames

    async def events(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return [await self.next("event", "resync", timeout=timeout) for _ in range(count)]

    async def subscribe(self, stream: str, since: Any = None) -> dict[str, Any]:
        await self.send({"type": "subscribe", "stream": stream, "since": since})
        return await self.next("subscribed", "error")

    async def close(self) -> None:
        await self.connection.close()
        self.reader.cancel()


@dataclass
class SseMessage:
    id: str | None = None
    event: str = "message"
    data: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads("\n".join(self.data))


class SseClient:
    """A minimal EventSource: parses the stream, remembers the last id."""

    def __init__(self, response: httpx.Response, client: httpx.AsyncClient) -> None:
        self.response = response
        self.client = client
        self.lines = response.aiter_lines()
        self.comments: list[str] = []
        self.retry: int | None = None
        self.last_id: str | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        session: str | None = None,
        last_event_id: str | None = None,
        **headers: str,
    ) -> SseClient:
        cookies = {"sessionid": session} if session else {}
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0), cookies=cookies)
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        return cls(response, client)

    async def next(self, timeout: float = 5.0, *, skip_comments: bool = True) -> SseMessage:
        message = SseMessage()
        async with asyncio.timeout(timeout):
            async for line in self.lines:
                if line == "":
                    if message.data or message.id is not None or message.event != "message":
                        if message.id is not None:
                            self.last_id = message.id
                        return message
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "":
                    self.comments.append(value)
                elif name == "data":
                    message.data.append(value)
                elif name == "id":
                    message.id = value
                elif name == "event":
                    message.event = value
                elif name == "retry":
                    self.retry = int(value)
        raise EOFError("the stream ended")

    async def until_end(self, timeout: float = 5.0) -> list[SseMessage]:
        """The messages up to the end of the response (TimeoutError if it does not end)."""
        messages = []
        try:
            while True:
                messages.append(await self.next(timeout))
        except EOFError:
            return messages

    async def close(self) -> None:
        await self.response.aclose()
        await self.client.aclose()


class SseWatcher:
    """Reads an event stream in the background with httpx-sse (a parser that is not ours),
    noting the wall-clock time each event arrived."""

    def __init__(
        self, url: str, *, session: str | None = None, last_event_id: str | None = None
    ) -> None:
        self.url = url
        self.cookies = {"sessionid": session} if session else {}
        self.headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.events: list[tuple[ServerSentEvent, float]] = []
        self.status: int | None = None
        self.ended = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> SseWatcher:
        started = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._read(started))
        await asyncio.wait_for(started, 10)
        return self

    async def until(self, predicate: Any, timeout: float = 10.0) -> ServerSentEvent:
        """The first event (already read or still to come) for which `predicate` is true."""
        async with asyncio.timeout(timeout):
            while True:
                for event, _ in self.events:
                    if predicate(event):
                        return event
                if self.ended:
                    raise EOFError(f"the stream ended; got {[e.event for e, _ in self.events]}")
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self, started: asyncio.Future[None]) -> None:
        async with httpx.AsyncClient(timeout=None, cookies=self.cookies) as client:
            try:
                async with aconnect_sse(client, "GET", self.url, headers=self.headers) as source:
                    self.status = source.response.status_code
                    started.set_result(None)
                    if self.status == 200:
                        async for event in source.aiter_sse():
                            if event.data or event.event != "message":
                                self.events.append((event, time.time()))
                            self._changed.set()
            except Exception as error:
                if not started.done():
                    started.set_exception(error)
                    return
                raise
            finally:
                self.ended = True
                self._changed.set()


class Socket:
    """An in-process WebSocket (a Channels communicator on the app's routing) that splits
    array frames and can answer pings. Presence events (who is in a room) are left out unless
    asked for: most tests do not care who else is there."""

    def __init__(self, communicator, answer_pings=True, presence=False):
        self.communicator = communicator
        self.answer_pings = answer_pings
        self.presence = presence
        self.backlog = []

    async def frame(self, timeout=3.0):
        while not self.backlog:
            text = await self.communicator.receive_from(timeout)
            content = json.loads(text)
            frames = content if isinstance(content, list) else [content]
            self.backlog.extend(f for f in frames if self.presence or not _is_presence(f))
        frame = self.backlog.pop(0)
        if frame["type"] == "ping" and self.answer_pings:
            await self.send({"type": "pong", "id": frame["id"]})
        return frame

    async def next(self, *types, timeout=3.0):
        while True:
            frame = await self.frame(timeout)
            if frame["type"] in types:
                return frame

    async def send(self, frame):
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def closed_with(self, timeout=3.0):
        while True:
            message = await self.communicator.receive_output(timeout)
            if message["type"] == "websocket.close":
                return message.get("code")


def _is_presence(frame):
    return frame.get("type") == "event" and str(frame.get("event")).startswith("presence.")


async def open_socket(
    path="/ws/live/",
    session=None,
    origin="http://testserver",
    answer_pings=True,
    consumer=None,
    presence=False,
):
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    routes = None if consumer is None else [route(path.lstrip("/"), consumer.as_asgi())]
    communicator = WebsocketCommunicator(websocket_application(routes), path, headers=headers)
    connected, code = await communicator.connect()
    return connected, code, Socket(communicator, answer_pings, presence)
