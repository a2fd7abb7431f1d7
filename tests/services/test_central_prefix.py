"""Serials carry the institution's prefix: central registers no office whose prefix another
institution already uses, so two offices issuing offline never collide."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from counter_tui.services import central
from tests.services.test_sync import City
from tests.support.factories import tiny_archive

pytestmark = pytest.mark.postgres


def test_an_office_sharing_a_serial_prefix_is_not_registered(
    tmp_path: Path, postgres_url: str
) -> None:
    city = City(postgres_url, tiny_archive(tmp_path))
    try:
        with city.admin.write() as remote:
            remote.execute(
                text(
                    "INSERT INTO institution (id, code, name, kind, serial_prefix, uscc, address, "
                    "phone) VALUES (gen_random_uuid(), 'CY-JW', '建外街道社保所', 'sub-district', "
                    "'cy', '', '', '')"
                )
            )
        with pytest.raises(central.CentralError) as refused:
            central.add_office(postgres_url, "CY-JW")
        assert refused.value.reason == "prefix_taken"
        assert "CY-RC" in str(refused.value)
        assert city.count("SELECT count(*) FROM pg_roles WHERE rolname = 'office_cy_jw'") == 0
        # CY-JY (prefix CJ) is registered as before.
        assert central.add_office(postgres_url, "CY-JY")
    finally:
        city.central.dispose()
        city.admin.dispose()
