"""Sandboxed execution of chart programs (model-written code is hostile input).

``RenderPool`` (pool.py) runs programs in long-lived workers (worker.py) that fork one jailed child
per job (child.py, jail.py). See jail.py for the limits and where they depart from ChartMimic.
"""

from msrl.execution.sandbox.pool import STATUSES, RenderPool, RenderResult, shared_pool

__all__ = ["STATUSES", "RenderPool", "RenderResult", "shared_pool"]
