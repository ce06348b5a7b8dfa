#!/usr/bin/env python3
"""The HTML report as a browser shows it: `check --report` on fixtures, then headless
Chromium renders each report.html.

For each fixture it checks
- the DOM Chromium dumps (after parsing and layout): the verdict banner says the fixture's
  expected verdict; an <svg> holds one `dvh-curve` polyline per structure the check used
  and at least one constraint marker; the constraint table has rows; no element loads
  anything (no src/href/url() to fetch);
- the screenshot's pixels: the banner's colour fills the top of the page, and every curve's
  colour is painted (the plot is drawn, in view, not only present in the DOM).

Exits non-zero on the first failure. Needs only python3 and /usr/bin/chromium.
Usage: html_report_chromium.py BIN FIXTURES_DIR OUT_DIR
"""

import html.parser
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
WINDOW = (1280, 1400)
CASES = ["trial_pass", "trial_cord_overdose", "trial_outside_grid"]
BANNER_RGB = {"PASS": (0x1A, 0x7F, 0x37), "FAIL": (0xCF, 0x22, 0x2E), "ERROR": (0x82, 0x50, 0xDF)}
# Screenshot colours are compared with this tolerance per channel (anti-aliasing, colour
# management).
TOLERANCE = 24
# A curve counts as painted with at least this many pixels of its colour.
MIN_CURVE_PIXELS = 40


def fail(msg):
    print(f"html report check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def chromium(args):
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=180,
        )
    return r


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.verdict_attr = None
        self.verdict_text = ""
        self.in_verdict = 0
        self.svg = 0
        self.curves = []
        self.markers = 0
        self.table_rows = 0
        self.in_constraints = False
        self.fetching = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("br", "meta", "img", "link", "circle", "path", "line", "rect", "polyline", "input"):
            self.stack.append(tag)
        if a.get("id") == "verdict":
            self.verdict_attr = a.get("data-verdict")
            self.in_verdict = len(self.stack)
        if tag == "svg":
            self.svg += 1
        if tag == "polyline" and "dvh-curve" in (a.get("class") or "").split():
            m = re.match(r"rgb\((\d+),(\d+),(\d+)\)", a.get("stroke", ""))
            self.curves.append((a.get("data-structure"), tuple(map(int, m.groups())) if m else None))
        if tag == "g" and a.get("class") == "constraint-marker":
            self.markers += 1
        if tag == "table" and "constraints" in (a.get("class") or ""):
            self.in_constraints = True
        if tag == "tr" and self.in_constraints:
            self.table_rows += 1
        for k in ("src", "href"):
            if k in a and not (a[k] or "").startswith("#"):
                self.fetching.append(f"<{tag} {k}={a[k]}>")
        if tag in ("script", "link", "iframe", "img", "object", "embed"):
            self.fetching.append(f"<{tag}>")
        if "url(" in (a.get("style") or ""):
            self.fetching.append(f"<{tag} style=url(...)>")

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            if self.in_verdict and len(self.stack) == self.in_verdict:
                self.in_verdict = 0
            self.stack.pop()
        if tag == "table":
            self.in_constraints = False

    def handle_data(self, data):
        if self.in_verdict:
            self.verdict_text += data


def read_png(path):
    """RGB(A) pixels of an 8-bit non-interlaced PNG, as (width, height, rows of bytes, bpp)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail(f"{path}: unsupported PNG (depth {depth}, colour type {ctype})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def count_colour(png, rgb, y0=0, y1=None):
    w, h, rows, bpp = png
    n = 0
    for y in range(y0, min(h, y1 or h)):
        row = rows[y]
        for x in range(w):
            p = row[x * bpp : x * bpp + 3]
            if all(abs(p[k] - rgb[k]) <= TOLERANCE for k in range(3)):
                n += 1
    return n


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, fixtures, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    for case in CASES:
        expected = json.load(open(os.path.join(fixtures, case, "expected.json")))["expected_verdict"]
        report_dir = os.path.join(out, case)
        r = subprocess.run([binary, "check", os.path.join(fixtures, case), "--report", report_dir],
                           capture_output=True, text=True)
        page = os.path.abspath(os.path.join(report_dir, "report.html"))
        if not os.path.isfile(page):
            fail(f"{case}: no report.html (exit {r.returncode}: {r.stderr.strip()})")
        result = json.load(open(os.path.join(report_dir, "result.json")))
        structures = len(open(os.path.join(report_dir, "dvh.csv")).readline().strip().split(",")) - 1

        d = chromium(["--dump-dom", f"file://{page}"])
        if d.returncode != 0 or "<html" not in d.stdout:
            fail(f"{case}: chromium --dump-dom failed ({d.returncode}): {d.stderr[-500:]}")
        dom = Dom()
        dom.feed(d.stdout)
        text = " ".join(dom.verdict_text.split())
        if dom.verdict_attr != expected or not text.startswith(expected):
            fail(f"{case}: verdict banner says {dom.verdict_attr!r} / {text!r}; expected {expected}")
        if result["verdict"] != expected:
            fail(f"{case}: result.json verdict {result['verdict']}; expected {expected}")
        if dom.svg < 1:
            fail(f"{case}: no <svg> in the rendered page")
        if len(dom.curves) != structures or structures == 0:
            fail(f"{case}: {len(dom.curves)} dvh-curve polylines; dvh.csv has {structures} structures")
        if dom.markers < 1:
            fail(f"{case}: no constraint markers in the plot")
        if dom.table_rows != len(result["results"]) + 1:
            fail(f"{case}: {dom.table_rows - 1} constraint rows; result.json has {len(result['results'])}")
        if dom.fetching:
            fail(f"{case}: the page loads something: {dom.fetching[:5]}")

        shot = os.path.join(out, f"{case}.png")
        s = chromium([f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", f"file://{page}"])
        if not os.path.isfile(shot):
            fail(f"{case}: no screenshot ({s.returncode}): {s.stderr[-500:]}")
        png = read_png(shot)
        banner = count_colour(png, BANNER_RGB[expected], 0, 40)
        if banner < png[0] * 40 * 0.5:
            fail(f"{case}: the top of the screenshot is not the {expected} banner colour ({banner} px)")
        for name, rgb in dom.curves:
            n = count_colour(png, rgb, 40)
            if rgb is None or n < MIN_CURVE_PIXELS:
                fail(f"{case}: curve {name} ({rgb}) is not visible in the screenshot ({n} px)")
        print(f"html report check: {case}: {expected} banner, {len(dom.curves)} curves, "
              f"{dom.markers} markers, {dom.table_rows - 1} constraint rows; screenshot {shot}")
    print(f"html report check: all {len(CASES)} fixture reports render as expected")


if __name__ == "__main__":
    main()
