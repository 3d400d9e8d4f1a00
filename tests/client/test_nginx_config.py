"""bench/capacity.py runs docs/nginx.conf with its "# bench:" lines swapped: the sample keeps
the shape the script needs, and the result points only at the run's ports and folder."""

import importlib.util
import re
from pathlib import Path

from tests.servers import ROOT


def load_capacity():
    spec = importlib.util.spec_from_file_location("capacity", ROOT / "bench" / "capacity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_config_is_the_sample_with_this_runs_ports_and_folder(tmp_path):
    capacity = load_capacity()
    sample = (ROOT / "docs" / "nginx.conf").read_text()
    conf = capacity.nginx_config(sample, tmp_path, 41234, [41001, 41002, 41003])

    # Both upstreams (any socket by least connections; a room's sockets by the room's id) list this run's ports.
    assert re.findall(r"server 127\.0\.0\.1:(\d+);", conf) == ["41001", "41002", "41003"] * 2
    assert re.findall(r"^\s*listen ([^;]+);", conf, re.M) == ["127.0.0.1:41234"]
    assert f"pid {tmp_path}/nginx.pid;" in conf and f"error_log {tmp_path}/error.log warn;" in conf
    for directive in ("client_body_temp_path", "proxy_temp_path"):
        assert re.search(rf"{directive} {re.escape(str(tmp_path))}/\w+;", conf), directive
    assert "/var/" not in conf and "/run/" not in conf
    # What the deployment needs survives the swap.
    for needed in ("worker_connections 16384;", "worker_rlimit_nofile", "proxy_set_header Upgrade $http_upgrade;",
                   "proxy_set_header Connection $connection_upgrade;",
                   "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "least_conn;",
                   "hash $room_id consistent;"):
        assert needed in conf, needed


def test_proc_stat_parsing_reads_this_process(tmp_path):
    import os

    capacity = load_capacity()
    ticks, rss_kb = capacity.proc_times_and_rss(os.getpid())
    assert ticks > 0 and rss_kb > 10_000  # a Python process with Django loaded holds well over 10 MB
