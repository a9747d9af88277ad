"""safetensors interop fixtures between PyTorch and wasmgrad (run by hand; tests never need Python).

    /usr/bin/python3 scripts/safetensors_fixture.py write   # PyTorch → test/fixtures/
    node scripts/write-safetensors-sample.mjs               # wasmgrad → test/fixtures/wasmgrad-*.safetensors
    /usr/bin/python3 scripts/safetensors_fixture.py check   # PyTorch reads and checks wasmgrad's files

`write` builds a small CNN (Conv2d(1,4,3) → ReLU → MaxPool2d(2) → Flatten → Linear(36,10)) with
torch.manual_seed(0) and saves its state dict as F32 (cnn-f32.safetensors) and BF16
(cnn-bf16.safetensors), an input batch and PyTorch's outputs for both weight sets
(cnn-io.safetensors: x, y_f32, y_bf16; the BF16 output is that of the BF16-rounded weights computed
in float32), and one tensor of every dtype wasmgrad reads with the float32/int32 values PyTorch
converts it to (dtypes.safetensors: <name> and <name>.expected). test/safetensors.test.ts loads them.

`check` reads wasmgrad's files with the reader below (which validates the layout as the reference
implementation does), checks their values, that F16/BF16 bits equal PyTorch's `.half()`/`.bfloat16()`
of the F32 values (NaN: any NaN), and that the files are byte-identical to what the writer below
produces from the same tensors: the reference layout (tensors by descending dtype alignment, then
name; compact JSON; header padded with spaces to 8 bytes).

The `safetensors` package is not needed: the format is a few lines of struct + json.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')

# In the reference implementation's enum order (ascending alignment), which the writer sorts by.
DTYPES = {
    'BOOL': torch.bool, 'U8': torch.uint8, 'I8': torch.int8, 'I16': torch.int16, 'F16': torch.float16,
    'BF16': torch.bfloat16, 'I32': torch.int32, 'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64,
}
RANK = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
NAME_OF = {v: k for k, v in DTYPES.items()}


def raw_bytes(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def dumps(v):
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False)


def encode(tensors, metadata=None):
    """The bytes of a safetensors file, laid out as the reference implementation does."""
    items = sorted(tensors.items(), key=lambda kv: (-RANK.index(NAME_OF[kv[1].dtype]), kv[0]))
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + dumps(metadata))
    offset, data = 0, []
    for name, t in items:
        b = raw_bytes(t)
        info = '{"dtype":%s,"shape":%s,"data_offsets":[%d,%d]}' % (dumps(NAME_OF[t.dtype]), dumps(list(t.shape)), offset, offset + len(b))
        parts.append(dumps(name) + ':' + info)
        data.append(b)
        offset += len(b)
    header = ('{' + ','.join(parts) + '}').encode('utf-8')
    header += b' ' * (-len(header) % 8)
    return struct.pack('<Q', len(header)) + header + b''.join(data)


def save(path, tensors, metadata=None):
    with open(path, 'wb') as f:
        f.write(encode(tensors, metadata))


def load(path):
    """(tensors by name in data order, metadata), validating the file as the reference does."""
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    assert n <= 100_000_000 and 8 + n <= len(buf), 'bad header length'
    header = json.loads(buf[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', None)
    data = buf[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]['data_offsets']))
    out, at = {}, 0
    for name, info in entries:
        begin, end = info['data_offsets']
        dtype = DTYPES[info['dtype']]
        count = math.prod(info['shape'])
        assert begin == at and end - begin == count * torch.empty((), dtype=dtype).element_size(), name
        at = end
        chunk = bytearray(data[begin:end])
        t = torch.frombuffer(chunk, dtype=dtype) if count > 0 else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info['shape'])
    assert at == len(data), 'trailing bytes'
    return out, metadata


def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 10))


def write():
    os.makedirs(FIXTURES, exist_ok=True)
    model = cnn()
    x = torch.randn(5, 1, 8, 8)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save(os.path.join(FIXTURES, 'cnn-f32.safetensors'), state, {'format': 'pt', 'model': 'cnn'})
    save(os.path.join(FIXTURES, 'cnn-bf16.safetensors'), {k: v.bfloat16() for k, v in state.items()}, {'format': 'pt'})
    with torch.no_grad():
        y_f32 = model(x)
        model.load_state_dict({k: v.bfloat16().float() for k, v in state.items()})
        y_bf16 = model(x)
    save(os.path.join(FIXTURES, 'cnn-io.safetensors'), {'x': x, 'y_f32': y_f32, 'y_bf16': y_bf16})

    specials = [0.0, -0.0, 1.0, -2.5, 1 / 3, 65504.0, 65520.0, 1e-5, 6e-8, 3e-8, 1e-40, 3.4e38, float('inf'), float('-inf'), float('nan')]
    f = torch.tensor(specials, dtype=torch.float64)
    ints = [0, 1, -1, 127, -128, 2**31 - 1, -2**31, 123456789]
    dtypes = {
        'f64': torch.tensor(specials + [1e300, 0.1, 2.0**-149, 2.0**-150], dtype=torch.float64),
        'f32': f.float(),
        'f16': f.half(),
        'bf16': f.bfloat16(),
        'i64': torch.tensor(ints, dtype=torch.int64).reshape(2, 4),
        'i32': torch.tensor(ints, dtype=torch.int32),
        'i16': torch.tensor([0, 1, -1, 32767, -32768], dtype=torch.int16),
        'i8': torch.tensor([0, 1, -1, 127, -128], dtype=torch.int8),
        'u8': torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        'bool': torch.tensor([[True, False], [False, True]]),
        'scalar': torch.tensor(7.5, dtype=torch.float64),
        'empty': torch.empty(0, 3, dtype=torch.float16),
    }
    expected = {}
    for name, t in dtypes.items():
        expected[name + '.expected'] = t if t.dtype == torch.bool else t.float() if t.is_floating_point() else t.int()
    save(os.path.join(FIXTURES, 'dtypes.safetensors'), {**dtypes, **expected}, {'source': 'pytorch ' + torch.__version__})
    print('wrote', sorted(f for f in os.listdir(FIXTURES) if not f.startswith('wasmgrad')))


def same(a, b):
    """Equal shapes, dtypes and values; floats compared bit for bit (so -0.0 is not 0.0), any NaN equal."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.is_floating_point():
        return bool((a == b).all())
    bits = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}[a.dtype]
    return bool(((a.view(bits) == b.view(bits)) | (a.isnan() & b.isnan())).all())


def check():
    base, meta = load(os.path.join(FIXTURES, 'wasmgrad-f32.safetensors'))
    assert meta == {'written by': 'wasmgrad', 'note': 'ünïcode ✓'}, meta
    want = {
        'grid': (torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8 - 1),
        'labels': torch.tensor([3, -1, 2147483647, -2147483648], dtype=torch.int32),
        'mask': torch.tensor([[True, False, True]]),
        'scalar': torch.tensor(-1.25),
        'empty': torch.empty(0, 2),
    }
    for name, t in want.items():
        assert same(base[name], t), (name, base[name], t)
    assert list(base) == ['empty', 'grid', 'scalar', 'specials', 'ü.weight', 'labels', 'mask'], list(base)
    with open(os.path.join(FIXTURES, 'wasmgrad-f32.safetensors'), 'rb') as f:
        assert f.read() == encode(base, meta), 'wasmgrad-f32: not the reference layout'
    for name, dtype in [('f16', torch.float16), ('bf16', torch.bfloat16)]:
        path = os.path.join(FIXTURES, 'wasmgrad-%s.safetensors' % name)
        got, meta = load(path)
        for key, t in base.items():
            expect = t.to(dtype) if t.is_floating_point() else t
            assert same(got[key], expect), (name, key, got[key].float(), expect.float())
        with open(path, 'rb') as f:
            assert f.read() == encode(got, meta), name + ': not the reference layout'
    print('ok: wasmgrad-f32/f16/bf16 read back by PyTorch;', len(base), 'tensors each')


if __name__ == '__main__':
    what = sys.argv[1:] or ['write', 'check']
    if 'write' in what:
        write()
    if 'check' in what:
        check()
