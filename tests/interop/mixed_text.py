#!/usr/bin/env python3
"""Writes N documents of mixed text into DIR (doc00.txt ...), seeded: English from a source
text, words in other scripts, digits of other systems, fractions and Roman numerals,
combining accents, emoji, unusual whitespace (no-break, ideographic, NEL, line separator),
contractions in both cases and runs of spaces and newlines: what GPT-2's split regex classes
by Unicode. usage: mixed_text.py SOURCE_TEXT DIR N"""
import random
import sys

source, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
english = open(source, encoding="utf-8").read().split()
rng = random.Random(20260520)
blocks = [(0x00C0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0590, 0x05FF), (0x0600, 0x06FF),
          (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF),
          (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x0080, 0x2FFF)]
digits = "0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９²³¹½¼¾ⅫⅣ①②"
spaces = [" ", "  ", "\t", "\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u2003", "   "]
marks = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "’s", "!", "?!", "...", "—", "«", "»",
         "(", ")", "\"", "e\u0301", "n\u0303", "ß", "ﬁ", "İ", "ǅ"]

def word():
    r = rng.random()
    if r < 0.45:
        return rng.choice(english)
    if r < 0.75:
        lo, hi = rng.choice(blocks)
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8)))
    if r < 0.88:
        return "".join(rng.choice(digits) for _ in range(rng.randint(1, 6)))
    return rng.choice(english) + rng.choice(marks)

for d in range(n):
    parts = []
    for _ in range(4000):
        parts.append(word())
        parts.append(" " if rng.random() < 0.8 else rng.choice(spaces))
    text = "".join(parts)
    # surrogates cannot be written as UTF-8; drop any the blocks above produced
    text = "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
    with open(f"{out}/doc{d:02d}.txt", "w", encoding="utf-8") as f:
        f.write(text + "\n")
