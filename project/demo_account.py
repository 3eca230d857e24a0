"""The demo accounts and chat rooms. `python -m project.demo_account` (run by `make run`)
creates the missing ones and prints how to sign in; the login page lists the accounts in
DEBUG."""

import os
from typing import NamedTuple


class DemoAccount(NamedTuple):
    username: str
    password: str
    is_staff: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin", is_staff=True),
    DemoAccount("alice", "alice"),
    DemoAccount("bob", "bob"),
)


def create_missing_accounts() -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for account in DEMO_ACCOUNTS:
        if users.filter(username=account.username).exists():
            continue
        email = f"{account.username}@example.com"
        if account.is_staff:
            user = users.create_superuser(account.username, email, account.password)
        else:
            user = users.create_user(account.username, email, account.password)
        welcome(user)


class DemoRoom(NamedTuple):
    slug: str
    name: str
    greeting: str


DEMO_ROOMS = (
    DemoRoom(
        "general",
        "General",
        "Welcome! Sign in as alice in one window and as bob in another, and talk here. "
        "Go offline and keep writing: your messages are sent when you are back.",
    ),
    DemoRoom("random", "Random", "Anything goes in here."),
)


def create_missing_rooms() -> None:
    """The demo's rooms, each with a first message from the staff account."""
    from django.contrib.auth import get_user_model

    from notifications.chat.api import post_message
    from notifications.chat.models import Room

    author = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    for demo_room in DEMO_ROOMS:
        room, created = Room.objects.get_or_create(
            slug=demo_room.slug, defaults={"name": demo_room.name, "created_by": author}
        )
        if created and author is not None:
            post_message(room, author, demo_room.greeting, client_id=f"demo-{room.slug}")


def welcome(user: object) -> None:
    """A first notification, so the inbox shows what one looks like."""
    from notifications.inbox.api import notify

    notify(
        user,
        "Welcome to Live Notifications",
        level="success",
        description="Open this site in a second tab: reading a notification here marks it "
        "read there too.",
        url="/tasks/",
    )


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    create_missing_accounts()
    create_missing_rooms()
    port = os.environ.get("PORT", "8000")
    print(f"\n  Demo site: http://127.0.0.1:{port}/\n")
    for account in DEMO_ACCOUNTS:
        role = "staff" if account.is_staff else "user"
        print(f"    {account.username} / {account.password}   ({role})")
    print()


if __name__ == "__main__":
    main()
