"""Writers (and the few readers) of the golden files: JSON goldens, tensor goldens (STEM.bin +
STEM.txt, read by tests/golden_tensors.h), and the model files the goldens run on (safetensors
and GGUF written by hand from their specs: no gguf or safetensors package)."""
import json
import os
import struct

import numpy as np
import torch


# The layout version of every golden (JSON: a top-level "format_version" field, first; tensor
# goldens: the .bin header and the .txt's first line). The C++ readers (tests/golden_json.h,
# tests/golden_tensors.h) refuse any other; raise it with them when a layout changes.
FORMAT_VERSION = 1
TENSOR_MAGIC = b"LOOMGOLD"


# ---------------------------------------------------------------- JSON goldens
def write_json(path, obj, **dump_kw):
    """obj: a dict; written with "format_version" as its first field."""
    assert isinstance(obj, dict), "a JSON golden is an object (put lists under a key)"
    with open(path, "w") as f:
        json.dump({"format_version": FORMAT_VERSION, **obj}, f, **dump_kw)


# ---------------------------------------------------------------- tensor goldens
class TensorGolden:
    """STEM.bin: a 16-byte header (b"LOOMGOLD", uint32 format version, uint32 number of floats),
    then the tensors as raw little-endian float32, one after another. STEM.txt: "format_version
    N", "config key value" lines, then one line per tensor "name offset numel dim..." (offset
    and numel in floats, offsets counted after the header)."""

    def __init__(self):
        self.lines, self.data, self.off = [], [], 0

    def config(self, cfg):
        for k, v in cfg.items():
            self.lines.append(f"config {k} {v}")

    def add(self, name, t):
        t = t.detach().to(torch.float32).contiguous()
        dims = " ".join(str(d) for d in t.shape) if t.dim() > 0 else "1"
        self.lines.append(f"{name} {self.off} {t.numel()} {dims}")
        self.data.append(struct.pack(f"<{t.numel()}f", *t.reshape(-1).tolist()))
        self.off += t.numel()

    def save(self, directory, stem):
        with open(os.path.join(directory, stem + ".bin"), "wb") as f:
            f.write(TENSOR_MAGIC + struct.pack("<II", FORMAT_VERSION, self.off) + b"".join(self.data))
        with open(os.path.join(directory, stem + ".txt"), "w") as f:
            f.write("\n".join([f"format_version {FORMAT_VERSION}"] + self.lines) + "\n")


# ---------------------------------------------------------------- safetensors
def write_safetensors(path, tensors):
    """name -> tensor, written as F32 in insertion order."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy().astype(np.float32))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path, dtype=torch.float64):
    """F32 tensors only -> name -> tensor (converted to dtype)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    w = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (path, name, e["dtype"])
        b, en = e["data_offsets"]
        a = np.frombuffer(raw[8 + n + b:8 + n + en], dtype=np.float32).reshape(e["shape"])
        w[name] = torch.from_numpy(a.copy()).to(dtype)
    return w


def read_hf_dir(d, dtype=torch.float64):
    """A Hugging Face directory (config.json + model.safetensors) -> (config dict, weights); a
    tied head gets lm_head.weight = the embedding."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    w = read_safetensors(os.path.join(d, "model.safetensors"), dtype)
    if cfg.get("tie_word_embeddings", False):
        assert "lm_head.weight" not in w
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return cfg, w


# ---------------------------------------------------------------- GGUF (version 3)
GGUF_F32, GGUF_F16, GGUF_Q4_0, GGUF_Q8_0 = 0, 1, 2, 8


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, value):
    out = gguf_str(key)
    if isinstance(value, str):
        return out + struct.pack("<I", 8) + gguf_str(value)
    if isinstance(value, float):
        return out + struct.pack("<If", 6, value)
    return out + struct.pack("<II", 4, value)  # uint32


def write_gguf(path, meta, tensors, align=32):
    """meta: key -> str / float (f32) / int (u32). tensors: name -> float tensor in our
    (outermost-first) shape, written as F32; or name -> (ggml type, shape, raw bytes) for data
    already encoded (the dims are written innermost first, as GGUF stores them)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta))
    for k, v in meta.items():
        head += gguf_kv(k, v)
    data, off = b"", 0
    for name, t in tensors.items():
        if isinstance(t, tuple):
            gtype, shape, blob = t
        else:
            a = np.ascontiguousarray(t.detach().numpy().astype(np.float32))
            gtype, shape, blob = GGUF_F32, a.shape, a.tobytes()
        dims = list(reversed(shape))
        head += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", gtype, off)
        pad = (-len(blob)) % align
        data += blob + b"\0" * pad
        off += len(blob) + pad
    head += b"\0" * ((-len(head)) % align)
    with open(path, "wb") as f:
        f.write(head + data)
