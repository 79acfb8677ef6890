from engine.support import Bench

def test_smoke(bench: Bench) -> None:
    view = bench.start("flow_transform", {"items": [1, 2, 3]})
    print(view.as_dict())
    assert view.run.status == "succeeded"
