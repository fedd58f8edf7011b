"""The one log-record format of every `todoflow` command, and how a line of it is read back.

The level leads the line because both readers of a job's output classify lines by their prefix: the local
subprocess operator (pipeline/local.py) and, in the cluster, the KubernetesPodOperator's pod-log reader,
which logs a line that starts with `ERROR`/`WARNING`/... at that level and any other line at info.
"""

from __future__ import annotations

import logging
import re

LOG_FORMAT = "%(levelname)s %(asctime)s %(name)s %(message)s"
_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def line_level(line: str, previous: int) -> int:
    """The logging level of one line of output: its record's level, else previous.

    A line that starts no record (a traceback, a print) belongs to the record before it.
    """
    match = _RECORD.match(line)
    return logging.getLevelNamesMapping()[match.group(1)] if match else previous
