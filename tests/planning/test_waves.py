from pathlib import Path

from envwake.configdir import load_config_dir
from envwake.planning import start_waves, stop_waves
from envwake.planning.waves import levels

CONFIG = Path(__file__).parents[2] / "config"


def dev():
    environments, problems = load_config_dir(CONFIG)
    assert problems == []
    return environments["dev"]


def test_start_waves_clusters_first_then_dependencies_first():
    waves = [(w.number, w.clusters, w.services) for w in start_waves(dev())]
    assert waves == [
        (1, ("shop-db", "payments-db"), ()),
        (2, (), ("shop/api", "payments/ledger")),
        (3, (), ("shop/web", "shop/cart", "payments/gateway", "payments/fraud", "search/indexer")),
        (4, (), ("search/query",)),
    ]


def test_stop_waves_dependents_first_then_clusters():
    waves = [(w.number, w.clusters, w.services) for w in stop_waves(dev())]
    assert waves == [
        (1, (), ("shop/web", "shop/cart", "payments/gateway", "payments/fraud", "search/query")),
        (2, (), ("payments/ledger", "search/indexer")),
        (3, (), ("shop/api",)),
        (4, ("shop-db", "payments-db"), ()),
    ]


def test_levels_ignore_edges_outside_the_group():
    assert levels(["a", "b", "c"], {"b": ["a", "x"], "c": ["b"]}) == [["a"], ["b"], ["c"]]
    assert levels(["a", "b"], {}) == [["a", "b"]]


def test_a_wave_is_a_longest_path_level():
    # d needs a (level 1) and c (level 2): it must wait for c, so it is level 3.
    needs = {"b": ["a"], "c": ["b"], "d": ["a", "c"]}
    assert levels(["a", "b", "c", "d"], needs) == [["a"], ["b"], ["c"], ["d"]]
