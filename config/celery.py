"""The Celery application: workers and beat run the work that happens later (checkpoints, expiry, webhooks)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Tasks that must never wait behind others go to the default queue's ".audit" sibling, which its own worker serves
# (docs/operations.md, "Processes"): signing a checkpoint, so that a decision is covered within seconds even while
# the other workers have a backlog (webhook deliveries, e-mail sweeps, expiry after a burst or an outage).
AUDIT_TASKS = frozenset({"audit.checkpoint_sign"})


def audit_queue() -> str:
    """The name of the audit queue: the default queue's name with ``.audit``."""
    return f"{app.conf.task_default_queue}.audit"


def route_task(
    name: str, args: object, kwargs: object, options: object, task: object = None, **kw: object
) -> dict[str, str] | None:
    """Celery router: the audit tasks to :func:`audit_queue`, everything else to the default queue."""
    return {"queue": audit_queue()} if name in AUDIT_TASKS else None


app = Celery("veilig_delen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = (route_task,)
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="restrictions")
