"""The generated vector files, one module per provider; each module's files() yields its VectorFiles.

A new provider adds a module here and one line to MODULES: the order below is the order
gen_vectors.py writes and checks them in.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

from . import (
    cdse,
    cdse_openeo,
    climate_engine,
    clms,
    disruptive_technologies,
    earthdata,
    egi_checkin,
    generic,
    openaire,
    sentinel_hub,
    token_exchange,
    usgs_m2m,
)
from .common import VectorFile

MODULES: tuple[ModuleType, ...] = (
    clms,
    disruptive_technologies,
    openaire,
    climate_engine,
    cdse_openeo,
    generic,
    usgs_m2m,
    earthdata,
    cdse,
    sentinel_hub,
    token_exchange,
    egi_checkin,
)


def files() -> Iterator[VectorFile]:
    for module in MODULES:
        yield from module.files()
