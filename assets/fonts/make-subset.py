#!/usr/bin/python3
"""Rebuilds the bundled CJK font subsets from Noto Sans CJK SC (Debian's fonts-noto-cjk).

Why a subset: the full collection is ~20 MB per weight; the station needs ASCII, Latin
(foreign addresses), GB2312 (every common Simplified Chinese character), the symbols the
screens use, and every character of the UI translations and the fixture data.

Usage (Debian/Ubuntu, fonttools from apt or pip):
    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb x
    python3 assets/fonts/make-subset.py x/usr/share/fonts/opentype/noto
"""

import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "assets" / "fonts"
# Index of "Noto Sans CJK SC" inside NotoSansCJK-*.ttc.
SC_INDEX = 2

RANGES = [
    (0x20, 0x7E),  # ASCII
    (0xA0, 0x17F),  # Latin-1 and Latin Extended-A: addresses abroad
    (0x2000, 0x206F),  # general punctuation
    (0x20A0, 0x20CF),  # currency
    (0x2100, 0x214F),  # letterlike (℃ №)
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # maths (≈ ≤ ≥)
    (0x2460, 0x24FF),  # enclosed numbers
    (0x2500, 0x27BF),  # boxes, shapes, symbols, dingbats present in the font
    (0x3000, 0x303F),  # CJK punctuation
    (0xFF00, 0xFFEF),  # full-width forms
]


def gb2312(level1_only=False):
    """GB2312 level 1 (rows 0xB0-0xD7, the 3,755 most frequent hanzi) or all of it."""
    chars = set()
    for hi in range(0xA1, 0xD8 if level1_only else 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def project_text():
    """Every character the UI strings, the Rust-side messages and the sample data use."""
    chars = set()
    for pattern in (
        "ui/**/*.slint",
        "ui/**/*.po",
        "src/text/catalogue.toml",  # every text Rust renders, in both languages
        "src/ui/**/*.rs",
        "fixtures/*.csv",
        "fixtures/*.json",
    ):
        for p in ROOT.glob(pattern):
            chars.update(p.read_text(encoding="utf-8"))
    return chars


def main(src_dir):
    src = pathlib.Path(src_dir)
    base = {cp for a, b in RANGES for cp in range(a, b + 1)}
    base |= {ord(c) for c in project_text() if ord(c) >= 0x20}
    # Bold is for the UI's own words and codes; data (names, notes, addresses) is drawn in
    # Regular, which has all of GB2312, so a rare character in a name still shows.
    sets = {
        "Regular": base | {ord(c) for c in gb2312()},
        "Bold": base | {ord(c) for c in gb2312(level1_only=True)},
    }
    for weight, unicodes in sets.items():
        font = TTCollection(str(src / f"NotoSansCJK-{weight}.ttc")).fonts[SC_INDEX]
        cmap = font.getBestCmap()
        wanted = sorted(u for u in unicodes if u in cmap)
        opts = subset.Options()
        opts.layout_features = ["*"]
        opts.name_IDs = ["*"]
        opts.name_languages = ["*"]
        opts.notdef_outline = True
        opts.hinting = False  # large touchscreen text; saves ~15 %
        opts.drop_tables += ["vhea", "vmtx", "VORG"]  # no vertical text on the bench
        s = subset.Subsetter(opts)
        s.populate(unicodes=wanted)
        s.subset(font)
        out = OUT / f"NotoSansCJKsc-{weight}-subset.otf"
        font.save(str(out))
        print(f"{out.name}: {len(wanted)} characters, {out.stat().st_size} bytes")
    missing = sorted({c for c in project_text() if ord(c) >= 0x20 and ord(c) not in cmap})
    if missing:
        print("not in Noto Sans CJK SC (shown by a fallback font, if any):", "".join(missing))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/opentype/noto")
