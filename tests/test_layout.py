"""The core knows no domain: no core module imports a domain package, not even indirectly."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "notifications"
DOMAINS = ("notifications.chat", "notifications.tasks", "notifications.inbox")
COMPOSITION = {
    "notifications.apps",
    "notifications.models",
    "notifications.admin",
    "notifications.urls",
    "notifications.api_urls",
}
DOMAIN_ENTRY_POINTS = {
    "notifications.templatetags.live_tasks",
    "notifications.management.commands.sweep_task_runs",
    "notifications.management.commands.prune_notifications",
    # the inbox at django-notifications-hq's import paths
    "notifications.base",
    "notifications.base.admin",
    "notifications.base.models",
    "notifications.settings",
    "notifications.utils",
    "notifications.templatetags.notifications_tags",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("notifications")}


def is_domain(name: str) -> bool:
    if name in DOMAIN_ENTRY_POINTS:
        return True
    return any(name == domain or name.startswith(domain + ".") for domain in DOMAINS)


def test_no_core_module_reaches_a_domain():
    modules = {
        module_name(path): imports_of(path)
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }
    core = [name for name in modules if not is_domain(name) and name not in COMPOSITION]
    assert "notifications.hub" in core and "notifications.consumers" in core
    for start in core:
        seen, pending = set(), [start]
        while pending:
            name = pending.pop()
            for target in modules.get(name, ()):
                assert not is_domain(target), f"{start} reaches {target} (through {name})"
                if target in modules and target not in seen and target not in COMPOSITION:
                    seen.add(target)
                    pending.append(target)
            assert name == start or name not in COMPOSITION
