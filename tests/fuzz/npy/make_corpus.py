#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_npy (tests/fuzz/npy/corpus): valid .npy files
of every dtype and format version as NumPy lays them out, and broken ones.
Each seed starts with fuzz_npy's selector byte: bit 0 = the target gzips the rest,
bits 1-2 = the reader (0 input dtypes, 1 int32 labels, 2 every dtype,
3 the dataset). Needs only the standard library (no NumPy):

    python3 tests/fuzz/npy/make_corpus.py
"""
import gzip
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

FMT = {"b1": "?", "u1": "B", "i1": "b", "u2": "H", "i2": "h", "u4": "I", "i4": "i",
       "u8": "Q", "i8": "q", "f4": "f"}


def header(descr, shape, version=1, fortran=False, pad=True):
    if len(shape) == 1:
        shape_s = "(%d,)" % shape[0]
    else:
        shape_s = "(" + ", ".join(str(d) for d in shape) + ")"
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_s)
    pre = 6 + 2 + (2 if version == 1 else 4)
    if pad:
        total = (pre + len(d) + 1 + 63) // 64 * 64
        d = d + " " * (total - pre - len(d) - 1) + "\n"
    h = d.encode("latin1")
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h


def values(t, n):
    if t == "b1":
        return [i % 2 == 0 for i in range(n)]
    if t == "f4":
        return [i * 0.37 - 1.0 for i in range(n)]
    if t[0] == "u":
        return [(i * 7 + 1) % 200 for i in range(n)]
    return [((i * 7 + 1) % 200) - 100 for i in range(n)]


def array(t, shape, version=1):
    n = 1
    for d in shape:
        n *= d
    order = "|" if t in ("b1", "u1", "i1") else "<"
    return header(order + t, shape, version) + struct.pack("<%d%s" % (n, FMT[t]), *values(t, n))


def seed(name, body, reader=0, gz=False):
    """gz: fuzz_npy compresses the body itself (selector bit 0)."""
    sel = (reader << 1) | (1 if gz else 0)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([sel]) + body)


def main():
    os.makedirs(OUT, exist_ok=True)
    # valid inputs, every version, plain and gzip'd, through the input reader and the dataset
    seed("u1_nhwc_v1", array("u1", (3, 4, 4, 1)), 0)
    seed("u1_nhwc_v1_gz", array("u1", (3, 4, 4, 1)), 0, gz=True)
    seed("i1_ntc_v2", array("i1", (2, 5, 3), 2), 0)
    seed("f4_nf_v3", array("f4", (4, 6), 3), 0)
    seed("f4_ntc_v1_gz", array("f4", (2, 3, 2)), 0, gz=True)
    seed("f4_nhwc_dataset", array("f4", (2, 3, 2, 2)), 3)
    seed("u1_nf_dataset_gz", array("u1", (5, 7)), 3, gz=True)
    # labels of every integer type, int32 conversion and dataset labels
    for t in ("b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"):
        seed("labels_%s" % t, array(t, (6,)), 1)
    seed("labels_i8_dataset", array("i8", (6,)), 3)
    seed("labels_u2_v2_gz", array("u2", (6,), 2), 1, gz=True)
    seed("targets_f4_dataset", array("f4", (5,)), 3)
    seed("every_dtype_4d", array("i2", (2, 2, 2, 2)), 2)
    seed("every_dtype_8d", array("u1", (1, 2, 1, 2, 1, 2, 1, 2)), 2)
    # other spellings: Python 2's L, double quotes, no padding, keys reordered
    body = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }\n"
    seed("py2_long", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body +
         struct.pack("<2f", 1.5, -2.5), 2)
    body = b'{"shape": (3,), "descr": "|u1", "fortran_order": False}'
    seed("reordered_unpadded", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body +
         b"abc", 0)
    # broken: each refused with its own message
    good = array("f4", (2, 2))
    seed("empty", b"", 0)
    seed("bad_magic", b"\x93NUMPZ" + good[6:], 0)
    seed("npz_zip", b"PK\x03\x04" + good, 0)
    seed("version_4", good[:6] + b"\x04\x00" + good[8:], 0)
    seed("fortran", header("<f4", (2, 2), fortran=True) + good[64:], 0)
    seed("big_endian", header(">f4", (2, 2)) + good[64:], 0)
    seed("f8", header("<f8", (2,)) + struct.pack("<2d", 1, 2), 0)
    seed("structured", header("[('a', '<f4')]", (2,)) + b"\0" * 8, 2)
    seed("truncated_data", good[:-3], 0)
    seed("trailing_data", good + b"\0", 0)
    seed("truncated_header", good[:40], 0)
    seed("header_len_huge", b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{", 0)
    seed("shape_overflow", header("|u1", (4294967296, 4294967296)) + b"\0" * 4, 0)
    seed("shape_product_overflow", header("|u1", (65536, 65536, 65536)) + b"\0" * 4, 0)
    seed("shape_zero", header("|u1", (3, 0)), 0)
    seed("nan", header("<f4", (3,)) + struct.pack("<3f", 1, float("nan"), 2), 0)
    seed("inf", header("<f4", (3,)) + struct.pack("<3f", 1, 2, float("-inf")), 3)
    seed("bool_2", header("|b1", (3,)) + b"\x00\x01\x02", 1)
    seed("i8_over_int32", array("i8", (1,))[:-8] + struct.pack("<q", 1 << 40), 1)
    # the dataset sniffs the magic: IDX images and labels, and neither
    seed("idx_images_dataset", b"\0\0\x08\x03" + struct.pack(">3I", 2, 1, 1) + b"\x10\x20", 3)
    seed("idx_labels_dataset", b"\0\0\x08\x01" + struct.pack(">I", 2) + b"\x01\x02", 3)
    seed("gif_dataset", b"GIF89a\x01\x00\x01\x00", 3)
    # gzip streams given as they are (selector bit 0 clear): broken ones
    seed("rawgz_trailing_garbage", gzip.compress(good, mtime=0) + b"garbage", 0)
    seed("rawgz_truncated", gzip.compress(good, mtime=0)[:-5], 0)
    seed("rawgz_two_members", gzip.compress(good[:50], mtime=0) +
         gzip.compress(good[50:], mtime=0), 2)


main()
