"""One tick process of the exactly-once test: ``python -m tests.scheduler._ticker HOME DB NOW GO``.

Waits for the file GO to exist (so both processes start together), then
ticks at NOW until a tick neither fires nor loses anything; prints counts as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from sopbench.config import load_settings
from sopbench.scheduler import Scheduler
from sopbench.services.runs import RunService


def main(home: str, db_url: str, now_text: str, go: str) -> None:
    settings = load_settings(home, environ={"SOPBENCH_DB_URL": db_url})
    service = RunService(settings)
    scheduler = Scheduler(service)
    now = datetime.fromisoformat(now_text)
    while not Path(go).exists():
        time.sleep(0.005)
    fired = lost = ticks = 0
    while True:
        result = scheduler.tick(now, sync=False)
        ticks += 1
        fired += sum(1 for f in result.fires if f.status == "fired")
        lost += result.lost
        if not result.fires and not result.lost:
            break
    service.close()
    print(json.dumps({"fired": fired, "lost": lost, "ticks": ticks}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
