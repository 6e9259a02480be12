"""Decode a text (CSV) file a user saved: UTF-8 with or without a byte-order mark, UTF-16/UTF-32 with
one (Excel's "Unicode text"), and a clear refusal of UTF-16 without one (NUL bytes between the
letters) instead of a codec's error message.
"""

from __future__ import annotations

from kkr_geo.geo.errors import InputError

BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
SAVE_AS_UTF8 = "save it as UTF-8 (CSV UTF-8 in Excel)"
HINT = "in Excel: File > Save As > 'CSV UTF-8 (comma delimited) (*.csv)'; in LibreOffice: Save As CSV, character set UTF-8."


def bom_encoding(data: bytes) -> str | None:
    """``'utf-16'``/``'utf-32'`` for a file starting with their byte-order mark, else None."""
    return next((enc for bom, enc in BOMS if data.startswith(bom)), None)


def looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: text in the ASCII range has a NUL byte in every other place."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0) / max(len(even), 1), odd.count(0) / max(len(odd), 1)) > 0.3


def refuse_nul_bytes(data: bytes, path) -> None:
    """A file with NUL bytes and no byte-order mark: UTF-16 without its mark, not a text file at all, or
    a text file with a NUL character in it (anywhere, not only at the start). A NUL in a text is refused
    naming its line(s): readers cut a text at a NUL (``Før\x00efter`` would become ``Før``), so it is
    never read on silently."""
    first = data.find(b"\x00")
    if first < 0:
        return
    if looks_utf16(data):
        raise InputError(f"{path}: the file is UTF-16; {SAVE_AS_UTF8}.", hint=HINT)
    head = data[:65536]
    controls = sum(head.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)))
    if controls > max(8, len(head) // 50):  # many control bytes: a binary file, not a text with a stray NUL
        raise InputError(f"{path}: contains NUL bytes; this is not a text (CSV) file.",
                         hint="if it is an Excel workbook, give it the .xlsx extension; otherwise export the table as CSV.")
    where = []
    pos = first
    while pos >= 0 and len(where) < 5:
        line = data.count(b"\n", 0, pos) + 1
        start = data.rfind(b"\n", 0, pos) + 1
        before = data[start:pos].decode("utf-8", errors="replace")[-30:]
        where.append(f"line {line} (after {before!r})")
        pos = data.find(b"\x00", data.find(b"\n", pos) + 1 if data.find(b"\n", pos) >= 0 else len(data))
    total = data.count(b"\x00")
    raise InputError(f"{path}: {total} NUL character(s) (byte 0) in the text: {', '.join(where)}"
                     f"{' ...' if total > len(where) else ''}. A reader would cut the text at a NUL and lose what follows, "
                     "so the file is not read.",
                     hint="remove the NUL character(s) in a text editor (they often come from a copy from another "
                          "program or a damaged export), or export the table again as CSV UTF-8.")


def read_text(path) -> str:
    """The text of a CSV file: UTF-8 (BOM or not), or UTF-16/32 with a byte-order mark; UTF-16 without
    one and text in another encoding are refused with what to do."""
    with open(path, "rb") as fh:
        data = fh.read()
    enc = bom_encoding(data)
    if enc is not None:
        try:
            return data.decode(enc).lstrip("\ufeff")
        except UnicodeDecodeError:
            raise InputError(f"{path}: starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()}.",
                             hint=HINT) from None
    refuse_nul_bytes(data, path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line} is not UTF-8 (byte {data[exc.start]:#04x}); the file is in another "
                         f"encoding (Windows cp1252?); {SAVE_AS_UTF8}.", hint=HINT) from None
