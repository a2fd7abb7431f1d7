"""``counter-tui locate``: where a dossier is, from a resident ID or dossier number, telling
nothing of the person; read-only (no access event is written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import func, select

from counter_tui import cli
from counter_tui.db.models import AccessEvent
from tests.support.factories import TinyArchive, tiny_archive


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    return tiny_archive(tmp_path)


def locate(archive: TinyArchive, capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    where = [
        "--db",
        archive.settings.db_url,
        "--archive-root",
        str(archive.settings.archive_dir),
        "--data-dir",
        str(archive.settings.data_dir),
    ]
    status = cli.main([*where, *args])
    out = capsys.readouterr()
    return status, out.out.strip(), out.err.strip()


def events(archive: TinyArchive) -> int:
    with archive.db.read() as s:
        return s.exec(select(func.count()).select_from(AccessEvent)).one()


def test_a_dossier_held_here_by_resident_id(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    before = events(archive)
    status, out, err = locate(archive, capsys, "locate", "11010519491231002x")
    assert (status, err) == (0, "")
    assert out.startswith(
        "110105********002X 的档案自 2020-05-06 起由北京市朝阳区人才服务中心保管。"
    )
    assert "张伟" not in out and "DA00000001" not in out
    assert events(archive) == before  # read-only: not even the enquiry is logged


def test_json_names_the_receiver_of_a_dossier_in_transit(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    status, out, _err = locate(archive, capsys, "locate", "--json", "da00000003")
    assert status == 0
    data = json.loads(out)
    assert {k: data[k] for k in ("status", "holder_code", "since")} == {
        "status": "in_transit",
        "holder_code": "CY-JY",
        "since": "2024-03-01",
    }
    assert "李娜" not in out and "尚未接收" in data["message"]


def test_english_on_request(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    status, out, _err = locate(archive, capsys, "--lang", "en", "locate", "DA00000001")
    assert status == 0
    assert out.startswith(
        "The dossier of DA00000001 is held by 北京市朝阳区人才服务中心 since 2020-05-06"
    )


@pytest.mark.parametrize(
    ("text", "status", "stream", "says"),
    [
        ("DA09999999", 3, "out", "本档案库中没有 DA09999999 的档案记录。"),
        ("110105194912310021", 2, "err", "校验码"),  # a wrong check digit, and no such number
        ("张伟", 2, "err", "仅凭姓名无法查询"),
        ("DA00000001\nDA00000002", 2, "err", "请输入一个身份证号或档案号"),
        ("", 2, "err", "请输入一个身份证号或档案号"),
    ],
)
def test_bad_or_unknown_input_says_why(
    archive: TinyArchive,
    capsys,  # noqa: ANN001
    text: str,
    status: int,
    stream: str,
    says: str,
) -> None:
    code, out, err = locate(archive, capsys, "locate", text)
    assert code == status
    assert says in (out if stream == "out" else err)
    assert "Traceback" not in out + err
