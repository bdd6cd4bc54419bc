"""The monitor: submit-dir logs and invocation records -> provenance rows (see loader.py)."""

from worker.monitor.loader import MonitorError, MonitorResult, monitor_run, rows_for

__all__ = ["MonitorError", "MonitorResult", "monitor_run", "rows_for"]
