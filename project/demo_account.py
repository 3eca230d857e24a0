"""The demo accounts. `python -m project.demo_account` (run by `make run`) creates the missing
ones and prints how to sign in; the login page lists them in DEBUG."""

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
    port = os.environ.get("PORT", "8000")
    print(f"\n  Demo site: http://127.0.0.1:{port}/\n")
    for account in DEMO_ACCOUNTS:
        role = "staff" if account.is_staff else "user"
        print(f"    {account.username} / {account.password}   ({role})")
    print()


if __name__ == "__main__":
    main()
