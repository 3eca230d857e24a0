"""Sending notifications: `notify()` for one user, a group, a queryset or any iterable of users,
set-based (a few queries per thousand recipients), and django-notifications-hq's
`notify.send(actor, recipient=..., verb=...)`."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain, islice
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_save
from django.utils import timezone

from notifications import signals
from notifications.inbox import live
from notifications.inbox.sql import json_array

BATCH_SIZE = 1000
GENERIC = ("actor", "target", "action_object")


class _Everyone:
    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Any = _Everyone()
"""`notify(EVERYONE, ...)`: every user, stored once (`notifications.inbox.broadcasts`)."""


def notify(
    recipient: Any,
    verb: str,
    *,
    actor: Model | None = None,
    target: Model | None = None,
    action_object: Model | None = None,
    level: str = "info",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    url: str | None = None,
    public: bool = True,
    timestamp: Any = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Notify each recipient (a user, a `Group`, a queryset or an iterable of users or user
    ids); returns how many were notified. Rows go in with the caller's transaction, and each
    recipient's tabs get the notification and the new unread count once it commits.
    `on_batch(count)` is called after each batch of at most BATCH_SIZE recipients.
    `notify(EVERYONE, ...)` stores one send to everyone and answers how many active users
    it reaches (see `notifications.inbox.broadcasts`; no target or action_object)."""
    if recipient is EVERYONE:
        from notifications.inbox.broadcasts import notify_everyone

        return notify_everyone(
            verb,
            actor=actor,
            target=target,
            action_object=action_object,
            level=level,
            description=description,
            data=data,
            url=url,
            public=public,
            timestamp=timestamp,
        )
    template = _template(verb, actor, target, action_object, level, description, public, timestamp)
    template.data = {**(data or {}), **({"url": url} if url else {})} or None
    sent = 0
    for batch in _send(template, recipient):
        sent += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return sent


async def anotify(recipient: Any, verb: str, **options: Any) -> int:
    """The async form of `notify`."""
    return await sync_to_async(notify)(recipient, verb, **options)


def notify_handler(verb: Any, **kwargs: Any) -> list[Any]:
    """The receiver of `notify.send`: django-notifications-hq's semantics (the actor is the
    sender; keyword arguments the model has become its fields, the others go into `data`), with
    every recipient getting the same fields. Each new row also gets a `post_save`."""
    kwargs.pop("signal", None)
    recipient = kwargs.pop("recipient")
    actor = kwargs.pop("sender")
    template = _template(
        verb,
        actor,
        kwargs.pop("target", None),
        kwargs.pop("action_object", None),
        kwargs.pop("level", "info"),
        kwargs.pop("description", None),
        bool(kwargs.pop("public", True)),
        kwargs.pop("timestamp", None),
        actor_for_concrete_model=kwargs.pop("actor_for_concrete_model", True),
        target_for_concrete_model=kwargs.pop("target_for_concrete_model", True),
        action_object_for_concrete_model=kwargs.pop("action_object_for_concrete_model", True),
    )
    for key in [key for key in kwargs if hasattr(template, key)]:
        setattr(template, key, kwargs.pop(key))
    if kwargs:
        template.data = kwargs
    sent: list[Any] = []
    using = router.db_for_write(type(template))
    for batch in _send(template, recipient):
        for notification in batch:
            post_save.send(
                type(notification),
                instance=notification,
                created=True,
                raw=False,
                using=using,
                update_fields=None,
            )
        sent += batch
    return sent


signals.notify.connect(notify_handler, dispatch_uid="notifications.models.notification")


def _template(
    verb: Any,
    actor: Model | None,
    target: Model | None,
    action_object: Model | None,
    level: str,
    description: str | None,
    public: bool,
    timestamp: Any,
    **concrete: bool,
) -> Any:
    from notifications.inbox.models import get_notification_model

    model = get_notification_model()
    template = model(
        verb=str(verb),
        level=level,
        description=description,
        public=public,
        timestamp=timestamp or timezone.now(),
    )
    for name, related in zip(GENERIC, (actor, target, action_object), strict=True):
        if related is not None:
            content_type = ContentType.objects.get_for_model(
                related, for_concrete_model=concrete.get(f"{name}_for_concrete_model", True)
            )
            setattr(template, f"{name}_content_type", content_type)
            setattr(template, f"{name}_object_id", str(related.pk))
            model._meta.get_field(name).set_cached_value(template, related)
    return template


def _send(template: Any, recipient: Any) -> Iterator[list[Any]]:
    """Store and push the notifications batch by batch, each batch in a transaction of its
    own; in the caller's transaction instead, if it has one. Outside one, on a database that
    takes concurrent writers, two batches are in flight at once (each on a connection of its
    own), so that building one batch's rows and events overlaps the database's work on the
    other."""
    using = router.db_for_write(type(template))
    store = partial(_store_batch, template, using=using)
    batches = _batches(_recipient_ids(recipient))
    first, second = next(batches, None), next(batches, None)
    ahead = [batch for batch in (first, second) if batch is not None]
    connection = connections[using]
    if second is None or connection.in_atomic_block or connection.vendor == "sqlite":
        for ids in chain(ahead, batches):
            yield store(ids)
        return
    yield from _in_parallel(store, chain(ahead, batches))


def _store_batch(template: Any, ids: list[Any], using: str) -> list[Any]:
    model = type(template)
    rows = [_clone(template, rid) for rid in ids]
    with transaction.atomic(using=using):
        created = _insert(model, rows, template, using)
        live.push_created(model, created, alike=True)
    signals.notifications_created.send(model, notifications=created)
    return created


def _clone(template: Any, recipient_id: Any) -> Any:
    """A copy of the unsaved template for one recipient (cheaper than `copy.copy`)."""
    row = object.__new__(type(template))
    row.__dict__.update(template.__dict__)
    row._state = ModelState()
    row._state.fields_cache = dict(template._state.fields_cache)
    row.recipient_id = recipient_id
    if isinstance(row.data, dict):
        row.data = dict(row.data)
    return row


def _in_parallel(
    store: Callable[[list[Any]], list[Any]], batches: Iterator[list[Any]]
) -> Iterator[list[Any]]:
    """`store` each batch on one of two worker threads; yields each batch once stored."""
    lock = threading.Lock()
    done: queue.SimpleQueue[tuple[list[Any] | None, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                with lock:
                    ids = next(batches, None)
                if ids is None:
                    break
                done.put((store(ids), None))
        except BaseException as error:
            stop.set()
            done.put((None, error))
        finally:
            connections.close_all()
            done.put((None, None))

    workers = [threading.Thread(target=work, name=f"notify-{n}", daemon=True) for n in (1, 2)]
    for worker in workers:
        worker.start()
    running = len(workers)
    failure: BaseException | None = None
    try:
        while running:
            created, error = done.get()
            if created is not None:
                if failure is None:
                    yield created
            elif error is not None:
                failure = failure or error
            else:
                running -= 1
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    if failure is not None:
        raise failure


def _insert(model: Any, rows: list[Any], template: Any, using: str) -> list[Any]:
    """Insert rows that differ only in their recipient: one statement, whatever their number,
    where the database reads a JSON array parameter (PostgreSQL, SQLite 3.38+)."""
    connection = connections[using]
    source = json_array(connection)
    if source is None:
        return list(model.objects.using(using).bulk_create(rows))
    recipient = model._meta.get_field("recipient")
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f is not recipient]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in (recipient, *fields))
    values = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    ids = [recipient.target_field.get_db_prep_value(row.recipient_id, connection) for row in rows]
    cast = recipient.target_field.cast_db_type(connection)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "
            f"SELECT CAST(item.value AS {cast}), {', '.join(['%s'] * len(values))} "
            f"FROM {source} RETURNING {pk}, {connection.ops.quote_name(recipient.column)}",
            [*values, json.dumps([str(each) for each in ids])],
        )
        returned = cursor.fetchall()
    waiting: dict[str, list[Any]] = {}
    for row, each in zip(rows, ids, strict=True):
        waiting.setdefault(str(each), []).append(row)
    for pk_value, recipient_id in returned:
        row = waiting[str(recipient_id)].pop(0)
        row.pk = pk_value
        row._state.adding = False
        row._state.db = using
    return rows


def _recipient_ids(recipient: Any) -> Iterable[Any]:
    if isinstance(recipient, Group):
        return _pages(recipient.user_set.all())
    if isinstance(recipient, QuerySet):
        if recipient.query.is_sliced:
            return list(recipient.values_list("pk", flat=True))
        return _pages(recipient)
    if isinstance(recipient, Model):
        return [recipient.pk]
    if isinstance(recipient, Iterable) and not isinstance(recipient, str | bytes):
        return (getattr(each, "pk", each) for each in recipient)
    raise TypeError(f"Not a recipient: {recipient!r} (a user, a Group, a queryset of users).")


def _pages(users: QuerySet[Any]) -> Iterator[Any]:
    """The users' ids, a page at a time in id order (bounded memory, no open cursor)."""
    ids = users.order_by("pk").values_list("pk", flat=True)
    page = list(ids[:BATCH_SIZE])
    while page:
        yield from page
        page = list(ids.filter(pk__gt=page[-1])[:BATCH_SIZE]) if len(page) == BATCH_SIZE else []


def _batches(ids: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(ids)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch
