#!/usr/bin/env python3
"""Damaged safetensors files for tests/badinput/files.inc: mkbad.py KIND SOURCE OUT.

SOURCE is a valid meki safetensors file (checkpoint or bundle weights); OUT gets:
  nan / inf    SOURCE with one value of its first tensor set to NaN / +Inf
  big          SOURCE with one value of its first tensor set to 1e30 (finite, beyond f16)
  huge         SOURCE's config metadata claiming a model of billions of parameters, no tensors
  meta-many    SOURCE's metadata plus 100000 tiny extra entries (a header of about 2 MB)
  digits       a 4096-byte file whose header ends in digits (nothing after it to stop on)
  shape-wrap   SOURCE with its first tensor's shape [2^62, 4]: 2^64 bytes wraps to 0
  header-len   SOURCE with a header length of 2^63
  folded-1     a bundle's weights as a fold of folded format 1 wrote them: MeKi's
               out_t.weight [d_mem, d] back as out.weight [d, d_mem], "folded" 1
"""
import json, struct, sys

kind, source, out = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(source, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])


def write(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    open(out, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))


tensors = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
first = tensors[0]
if kind in ("nan", "inf", "big"):
    at = header[first]["data_offsets"][0] + 4 * 3
    data[at:at + 4] = struct.pack("<f", 1e30 if kind == "big" else float(kind))
    write(header, data)
elif kind == "huge":
    meta = dict(header["__metadata__"])
    meta.update({"model.d_model": "2048", "model.n_layers": "12", "model.n_heads": "16",
                 "model.n_kv_heads": "4", "model.ffn_hidden": "8192", "model.vocab_size": "65536"})
    write({"__metadata__": meta}, b"")
elif kind == "meta-many":
    meta = dict(header["__metadata__"])
    meta.update({"k%d" % i: "v" for i in range(100000)})
    header["__metadata__"] = meta
    write(header, data)
elif kind == "digits":
    body = b'{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,'
    body = b" " * (4096 - 8 - len(body) - 4) + body + b"4" * 4
    open(out, "wb").write(struct.pack("<Q", len(body)) + body)
elif kind == "shape-wrap":
    header[first]["shape"] = [1 << 62, 4]
    header[first]["data_offsets"] = [0, 0]
    write(header, data)
elif kind == "folded-1":
    header["__metadata__"]["folded"] = "1"
    for name in [k for k in tensors if k.endswith(".meki.out_t.weight")]:
        t = header.pop(name)
        m, d = t["shape"]
        lo = t["data_offsets"][0]
        rows = struct.unpack("<%df" % (m * d), bytes(data[lo:lo + 4 * m * d]))
        data[lo:lo + 4 * m * d] = struct.pack("<%df" % (m * d), *(rows[j * d + i] for i in range(d) for j in range(m)))
        header[name.replace("out_t.weight", "out.weight")] = dict(t, shape=[d, m])
    write(header, data)
elif kind == "header-len":
    open(out, "wb").write(struct.pack("<Q", 1 << 63) + raw[8:])
else:
    sys.exit("unknown kind " + kind)
