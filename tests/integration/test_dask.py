"""A real Dask cluster downloading through one pickled m2mauth session (issue 3, part 3).

Four worker processes, 400 authenticated downloads of the provider's resource, 2-second
tokens, a FileStore shared by the workers: every download succeeds and the token endpoint
sees about one request per refresh period in all — not one per worker per period.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import m2mauth
from m2mauth import FileStore

try:
    from .conftest_lifecycle import ProviderFactory, child_environment, lifecycle_provider, token_requests_bound
except ImportError:
    from conftest_lifecycle import ProviderFactory, child_environment, lifecycle_provider, token_requests_bound

__all__ = ["lifecycle_provider"]

distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process cluster on POSIX only in CI")

DOWNLOADS = 400
WORKERS = 4
LIFETIME = 2


def download(number: int, http: Any, url: str, pause: float) -> tuple[int, int, str]:
    """One download on a worker: (status, worker pid, the token it carried)."""
    time.sleep(pause)  # spread the 400 downloads over a few token lifetimes
    answer = http.get(url, timeout=10)
    return answer.status_code, os.getpid(), answer.request.headers["Authorization"]


def test_dask_cluster_400_downloads_share_one_token_per_period(
    lifecycle_provider: ProviderFactory, tmp_path: Path
) -> None:
    child_environment()
    provider = lifecycle_provider(token_lifetime=LIFETIME)
    provider.add_client("generic", "dask-client", "dask-secret")
    http = m2mauth.session(
        "generic",
        token_url=provider.token_url("generic"),
        client_id="dask-client",
        client_secret="dask-secret",
        store=FileStore(tmp_path / "store"),
    )
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)  # workers need not import this test module
    try:
        with (
            distributed.LocalCluster(
                n_workers=WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            [remote] = client.scatter([http], broadcast=True)
            started = time.monotonic()
            futures = client.map(
                download, range(DOWNLOADS), http=remote, url=provider.resource_url, pause=0.025, pure=False
            )
            results = client.gather(futures)
            elapsed = time.monotonic() - started
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    statuses = [status for status, _, _ in results]
    assert statuses == [200] * DOWNLOADS
    assert len({pid for _, pid, _ in results}) == WORKERS
    made = provider.token_requests()
    bound = token_requests_bound(elapsed, LIFETIME)
    print(
        f"\nDask: {DOWNLOADS} downloads by {WORKERS} workers in {elapsed:.1f} s, {made} token requests (bound {bound})"
    )
    assert 1 <= made <= bound, (made, bound, elapsed)
    tokens_used = {authorization for _, _, authorization in results}
    assert len(tokens_used) == made  # every token fetched was shared by the workers
    assert made < WORKERS * (elapsed // 1 + 1)  # one per worker per period would be this many
