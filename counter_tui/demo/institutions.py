"""The demo archive's institutions, accounts and shelves (fixed data, no randomness)."""

from __future__ import annotations

INSTITUTIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    # code, name, kind, parent_code, serial_prefix
    ("CY-RC", "北京市朝阳区人才服务中心", "district", None, "CY"),
    ("CY-JY", "北京市朝阳区职业介绍服务中心", "district", None, "CJ"),
    ("CY-JW", "朝阳区建外街道社会保障事务所", "sub-district", "CY-RC", "JW"),
)
"""(code, name, kind, parent code, certificate serial prefix) of each demo institution."""

INSTITUTION_DETAILS: dict[str, tuple[str, str]] = {
    # code: (统一社会信用代码 — made up, with a correct GB 32100 check character; address)
    "CY-RC": ("12110105MB0123456C", "北京市朝阳区示例路 1 号（演示地址）"),
    "CY-JY": ("12110105MB0234567P", "北京市朝阳区示例路 2 号（演示地址）"),
    "CY-JW": ("12110105MB03456783", "北京市朝阳区建外街道示例胡同 3 号（演示地址）"),
}
"""The certificate header's 统一社会信用代码 and address of each demo institution."""

CLERKS: tuple[tuple[str, str, str, str], ...] = (
    # username, name, role, institution code
    ("clerk1", "王芳", "clerk", "CY-RC"),
    ("clerk2", "李强", "clerk", "CY-RC"),
    ("super1", "赵敏", "supervisor", "CY-RC"),
    ("arch1", "陈刚", "archivist", "CY-RC"),
    ("audit1", "刘洋", "auditor", "CY-RC"),
    ("admin", "系统管理员", "admin", "CY-RC"),
    ("clerk3", "孙丽", "clerk", "CY-JY"),
)
"""(username, name, role, institution code) of each demo account; the password of each is
"<username>-demo"."""

HOLDER_SHARES = (("CY-RC", 0.8), ("CY-JY", 0.1), ("CY-JW", 0.1))
"""(institution code, share 0–1) of the dossiers each institution received first."""

# First dossier serial and first shelf slot per institution (numbers continue an older register).
SERIAL_BASE = {"CY-RC": 86_000, "CY-JY": 31_400, "CY-JW": 2_100}
"""The serial of each institution's first demo dossier, less one (dossier numbers continue an
older register: "CY00086001" is CY-RC's first)."""
_SHELF_BASE = {"CY-RC": (3, 12), "CY-JY": (1, 5), "CY-JW": (1, 1)}  # 库, 架 of the first slot


def institution_names() -> dict[str, str]:
    """Institution code → full name."""
    return {code: name for code, name, _k, _p, _s in INSTITUTIONS}


def serial_prefixes() -> dict[str, str]:
    """Institution code → dossier number and certificate serial prefix ("CY-RC" → "CY")."""
    return {code: prefix for code, _n, _k, _p, prefix in INSTITUTIONS}


def shelf_location(code: str, slot: int) -> str:
    """The shelf location of the ``slot``-th (0-based) place of institution ``code``'s store,
    as "3库-12架-4层-087" (store, rack, layer, place): 120 places a layer, 6 layers a rack, 40
    racks a store, counted on from the institution's first slot."""
    store, rack = _SHELF_BASE[code]
    index = ((store - 1) * 40 + (rack - 1)) * 720 + slot
    place = index % 120 + 1
    layer = index // 120 % 6 + 1
    rack = index // 720 % 40 + 1
    store = index // 28_800 + 1
    return f"{store}库-{rack}架-{layer}层-{place:03d}"
