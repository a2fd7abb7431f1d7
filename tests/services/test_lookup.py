"""Lookup rules: name search from the start of the name, wildcards literal, truncation said."""

from __future__ import annotations

from pathlib import Path

from counter_tui.db.models import CustodyEvent, Dossier
from counter_tui.services import lookup
from counter_tui.services.lookup import NAME_RESULTS_LIMIT
from tests.support.factories import T0, logged_in, tiny_archive


def test_name_search(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    with archive.db.write() as s:
        for i in range(NAME_RESULTS_LIMIT + 5):
            d = Dossier(dossier_no=f"DB{i:08d}", person_name=f"王{i:03d}", gender="M")
            s.add(d)
            s.flush()
            s.add(
                CustodyEvent(
                    dossier_id=d.id,
                    kind="shelved",
                    at=T0,
                    holder_institution_id=archive.ids["here"],
                )
            )
        d = Dossier(dossier_no="DC00000001", person_name="李张三", gender="M")
        s.add(d)
        s.flush()
        s.add(
            CustodyEvent(
                dossier_id=d.id, kind="shelved", at=T0, holder_institution_id=archive.ids["here"]
            )
        )
    names = [m.person_name for m in lookup.find(archive.db, "/张", place).matches]
    assert names == ["张伟", "张敏"]  # not 李张三: names are searched from their start
    assert lookup.find(archive.db, "/%", place).status == "none"
    assert lookup.find(archive.db, "/_", place).status == "none"
    many = lookup.find(archive.db, "/王", place)
    assert many.status == "choices" and len(many.matches) == NAME_RESULTS_LIMIT
    assert str(NAME_RESULTS_LIMIT) in many.message
    one = lookup.find(archive.db, "李张", place)  # CJK without "/" is a name too
    assert (one.status, one.matches[0].dossier_no) == ("found", "DC00000001")
