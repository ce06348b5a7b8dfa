#!/usr/bin/env python3
"""Byte-edited copies of fixtures/trial_pass, one folder per fail-closed rule of reading and
linking, for checking the rules end to end with the binary:

  scripts/fail_closed_variants.py fixtures/trial_pass OUT
  for d in OUT/*; do target/release/sbrt-verify check "$d" >/dev/null; echo "$d: exit $?"; done

Every folder but rule2_duplicate (an exact duplicate contour, removed and recorded) must
exit 3. The edits keep every value's length, so no sequence or item length changes.
"""
import os, re, shutil, struct, sys

src, out = sys.argv[1], sys.argv[2]

def copy(name):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d)
    if os.path.exists(os.path.join(d, 'expected.json')):
        os.remove(os.path.join(d, 'expected.json'))
    return d

def edit(d, f, fn):
    p = os.path.join(d, f)
    b = bytearray(open(p, 'rb').read())
    b2 = fn(b)
    open(p, 'wb').write(b2 if b2 is not None else b)

def same(b, old, new):
    assert len(old) == len(new), (old, new)
    i = b.find(old); assert i >= 0, old
    b[i:i + len(old)] = new

def contour_items(b):
    """(start, end) of each ContourSequence item holding CLOSED_PLANAR, in file order."""
    out = []
    for m in re.finditer(rb'CLOSED_PLANAR', bytes(b)):
        s = b.rfind(b'\xfe\xff\x00\xe0', 0, m.start())
        e = b.find(b'\xfe\xff\x0d\xe0\x00\x00\x00\x00', m.start()) + 8
        out.append((s, e))
    return out

def cord_middle(b):
    # The SpinalCord contour at z = 0: the cord's axis is at x = 0, y = 35, radius 5 mm.
    for s, e in contour_items(b):
        i = b.find(b'\x06\x30\x50\x00DS', s, e)
        n = struct.unpack('<H', b[i + 6:i + 8])[0]
        v = [float(x) for x in bytes(b[i + 8:i + 8 + n]).decode().split('\\')]
        if abs(v[2]) < 1e-9 and abs(v[1] - 35) < 6 and abs(v[0]) < 6:
            return s, e, i + 8, n
    raise SystemExit('cord contour not found')

# Rule 1a: the cord's z = 0 contour collapsed to a line (every y written as 35, padded).
def collapse(b):
    s, e, at, n = cord_middle(b)
    parts = bytes(b[at:at + n]).decode().split('\\')
    for k in range(1, len(parts), 3):
        parts[k] = '35'.ljust(len(parts[k]))
    b[at:at + n] = '\\'.join(parts).encode()
edit(copy('rule1_line'), 'RS.dcm', collapse)

# Rule 1b: that contour made OPEN_PLANAR.
def open_planar(b):
    s, e, at, n = cord_middle(b)
    i = b.find(b'CLOSED_PLANAR ', s, e)
    b[i:i + 14] = b'OPEN_PLANAR   '
edit(copy('rule1_open'), 'RS.dcm', open_planar)

# Rule 2: that contour exported twice (an exact duplicate): a harmless variant, must PASS.
def duplicate(b):
    s, e, at, n = cord_middle(b)
    return b[:e] + b[s:e] + b[e:]
edit(copy('rule2_duplicate'), 'RS.dcm', duplicate)

# Rule 5: DoseType ERROR, and DoseType missing (its tag moved to the unused (3004,0005)).
edit(copy('rule5_error'), 'RD.dcm', lambda b: same(b, b'CS\x08\x00PHYSICAL', b'CS\x08\x00ERROR   '))
edit(copy('rule5_missing'), 'RD.dcm', lambda b: same(b, b'\x04\x30\x04\x00CS\x08\x00PHYSICAL', b'\x04\x30\x05\x00CS\x08\x00PHYSICAL'))

# Rule 7: the plan's structure set reference, the dose's plan reference, a patient name.
def uid_of(d, f):
    b = open(os.path.join(d, f), 'rb').read()
    i = b.find(b'\x08\x00\x18\x00UI')
    n = struct.unpack('<H', b[i + 6:i + 8])[0]
    return b[i + 8:i + 8 + n]
def bump(uid):
    u = bytearray(uid.rstrip(b'\x00'))
    u[-1] = ord('1') if u[-1] != ord('1') else ord('2')
    return bytes(u) + uid[len(u):]
d = copy('rule7_no_structures'); rs = uid_of(d, 'RS.dcm')
edit(d, 'RP.dcm', lambda b: same(b, rs, bump(rs)))
d = copy('rule7_no_plan'); rp = uid_of(d, 'RP.dcm')
edit(d, 'RD.dcm', lambda b: same(b, rp, bump(rp)))
edit(copy('rule7_patient_name'), 'RS.dcm', lambda b: same(b, b'PHANTOM^TRIAL_PASS', b'PHANTOM^TRIAL_FAIL'))

# Rule 8: BitsStored below BitsAllocated; a negative dose (signed samples, the first -1).
edit(copy('rule8_bits_stored'), 'RD.dcm', lambda b: same(b, b'\x28\x00\x01\x01US\x02\x00\x10\x00', b'\x28\x00\x01\x01US\x02\x00\x0c\x00'))
def negative(b):
    same(b, b'\x28\x00\x03\x01US\x02\x00\x00\x00', b'\x28\x00\x03\x01US\x02\x00\x01\x00')
    i = b.find(b'\xe0\x7f\x10\x00OW')
    b[i + 12:i + 14] = b'\xff\xff'
edit(copy('rule8_negative'), 'RD.dcm', negative)

# Rule 9: an empty .dcm, a dangling symbolic link, a .dcm cut inside its preamble.
open(os.path.join(copy('rule9_empty'), 'RS_new.dcm'), 'wb').close()
os.symlink('gone.dcm', os.path.join(copy('rule9_dangling'), 'RS_new.dcm'))
rp_bytes = open(os.path.join(src, 'RP.dcm'), 'rb').read()
open(os.path.join(copy('rule9_cut'), 'RS_new.dcm'), 'wb').write(rp_bytes[:100])
