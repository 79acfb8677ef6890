import threading, time
import pytest
from engine.support import Bench
from sopbench.errors import DecisionRefused, NotFound
from sopbench.store import open_database

def test_race(bench: Bench) -> None:
    stop = threading.Event()
    from sopbench.services.runs import RunService
    other = RunService(bench.settings, workspace=bench.service.workspace, database=open_database(bench.settings.db_url))
    decided = []
    def poll():
        while not stop.is_set():
            for t in other.tasks():
                try:
                    r = other.decide(t["id"], person="bob", action="approve", continue_run=False)
                    decided.append((t["run_id"], r["run_status"]))
                except DecisionRefused as e:
                    decided.append(("refused", str(e)))
                except Exception as e:
                    decided.append(("ERR", repr(e)))
    th = threading.Thread(target=poll, daemon=True); th.start()
    ids = []
    for i in range(40):
        v = bench.start("eng_journal", {"qty": 1})
        ids.append(v.run.id)
    time.sleep(0.5)
    stop.set(); th.join()
    bench.service.recover()
    statuses = [bench.view(i).run.status for i in ids]
    print(statuses.count("succeeded"), statuses.count("waiting"), statuses)
    print('DEC', decided[:8])
    other.db.dispose()
    assert statuses.count("waiting") == 0
