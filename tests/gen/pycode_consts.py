#!/usr/bin/python3
"""pycode_consts.py - reads the constants (and names) of a Lambda layer's marshalled Python
code object, written from CPython's documented marshal format (Python/marshal.c type codes)
so that code objects of other Python versions can be read: python3's own marshal refuses
them.  Used by make_corpus_refs.py only to CHECK that a hand-written Lambda formula uses
the constants the saved code object holds; it does not interpret bytecode.

Supported: code objects of CPython 3.4 - 3.10 (fields argcount, [posonlyargcount (3.8+)],
kwonlyargcount, nlocals, stacksize, flags, code, consts, names, varnames, freevars,
cellvars, filename, name, firstlineno, lnotab); 3.11 changed the layout and is refused.

Keras's func_dump stored marshal.dumps(code) as text: decoded with 'raw_unicode_escape'
(Keras 1.x, 2.0-2.1) or base64 (later); both are accepted.

Usage:  pycode_consts.py MODEL.h5|MODEL.json   (prints every Lambda's code summary)
"""

import base64
import binascii
import struct

FLAG_REF = 0x80


class _Reader:
    def __init__(self, data):
        self.b, self.i, self.refs = data, 0, []

    def take(self, n):
        if self.i + n > len(self.b):
            raise ValueError('marshal data truncated at %d' % self.i)
        s = self.b[self.i:self.i + n]
        self.i += n
        return s

    def i32(self):
        return struct.unpack('<i', self.take(4))[0]

    def u8(self):
        return self.take(1)[0]

    def obj(self):
        code = self.u8()
        flag, t = code & FLAG_REF, chr(code & ~FLAG_REF)
        slot = None
        if flag:                                 # reserve the ref slot before the children
            slot = len(self.refs)
            self.refs.append(None)
        v = self._value(t)
        if flag:
            self.refs[slot] = v
        return v

    def _value(self, t):
        if t in 'N0':
            return None
        if t == 'F':
            return False
        if t == 'T':
            return True
        if t == '.':
            return Ellipsis
        if t == 'i':
            return self.i32()
        if t == 'l':                             # digits of 15 bits, sign in the count
            n = self.i32()
            v = 0
            for k in range(abs(n)):
                v |= struct.unpack('<H', self.take(2))[0] << (15 * k)
            return -v if n < 0 else v
        if t == 'g':                             # IEEE 754 double, little endian
            return struct.unpack('<d', self.take(8))[0]
        if t == 'f':
            return float(self.take(self.u8()).decode('ascii'))
        if t == 'y':
            re_, im = struct.unpack('<dd', self.take(16))
            return complex(re_, im)
        if t == 's':
            return bytes(self.take(self.i32()))
        if t in 'tuaA':
            return self.take(self.i32()).decode('utf8', 'surrogatepass')
        if t in 'zZ':
            return self.take(self.u8()).decode('ascii')
        if t == ')':
            return tuple(self.obj() for _ in range(self.u8()))
        if t in '([<>':
            return tuple(self.obj() for _ in range(self.i32()))
        if t == 'r':
            return self.refs[self.i32()]
        if t == 'c':
            return self._code()
        raise ValueError('marshal type %r at %d not supported' % (t, self.i - 1))

    def _code(self):
        # CPython 3.4-3.7 write five int fields before 'code'; 3.8-3.10 add posonlyargcount
        # (six).  Try the older layout first and fall back when 'code' is not bytes there.
        start, nrefs = self.i, len(self.refs)
        for n_head in (5, 6):
            self.i, self.refs = start, self.refs[:nrefs]
            try:
                head = [self.i32() for _ in range(n_head)]
                fields = {}
                for k in ('code', 'consts', 'names', 'varnames', 'freevars', 'cellvars',
                          'filename', 'name'):
                    fields[k] = self.obj()
                fields['firstlineno'] = self.i32()
                fields['lnotab'] = self.obj()
            except ValueError:
                continue
            if isinstance(fields['code'], bytes) and isinstance(fields['consts'], tuple) and \
                    isinstance(fields['name'], str):
                fields['argcount'] = head[0]
                return fields
        raise ValueError('not a CPython 3.4-3.10 code object')


def function_bytes(field):
    """The marshalled bytes of a Lambda config's 'function' entry ([code, defaults,
    closure] or the code text alone)."""
    text = field[0] if isinstance(field, (list, tuple)) else field
    raw = text.encode('raw_unicode_escape')
    if raw[:1] and (raw[0] & ~FLAG_REF) == ord('c'):
        return raw
    try:
        return base64.b64decode(text, validate=False)
    except binascii.Error as ex:
        raise ValueError('Lambda function is neither raw nor base64 marshal: %s' % ex)


def code_summary(field):
    """{'name', 'filename', 'firstlineno', 'consts', 'names', 'argcount'} of the code
    object in a Lambda's 'function' config entry."""
    r = _Reader(function_bytes(field))
    c = r.obj()
    if not isinstance(c, dict):
        raise ValueError('Lambda function is not a code object')
    return {k: c[k] for k in ('name', 'filename', 'firstlineno', 'consts', 'names',
                              'argcount')}


def numeric_consts(field):
    """The int / float constants of the code object, in order (docstrings etc. dropped)."""
    return [v for v in code_summary(field)['consts']
            if isinstance(v, (int, float)) and not isinstance(v, bool)]


def main():
    import json
    import sys

    import h5py
    for path in sys.argv[1:]:
        if path.endswith('.json'):
            cfg = json.loads(open(path).read())
            cfg = json.loads(cfg) if isinstance(cfg, str) else cfg
        else:
            with h5py.File(path, 'r') as f:
                a = f.attrs['model_config']
                cfg = json.loads(a.decode('utf8') if isinstance(a, bytes) else a)
        layers = cfg['config'] if isinstance(cfg, dict) else cfg
        layers = layers['layers'] if isinstance(layers, dict) else layers
        for e in layers:
            if e['class_name'] == 'Lambda':
                s = code_summary(e['config']['function'])
                print('%s %s: %r' % (path, e['config']['name'], s))


if __name__ == '__main__':
    main()
