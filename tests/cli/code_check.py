#!/usr/bin/python3
"""code_check.py - the code a reader would copy from a report is valid Python for its model.

    code_check.py [--macs REF.tsv] SITE_DIR...

For each site (report.md + report.json written by tlreport): every fenced ```python block
parses with ast; no inline code span or code block holds a Markdown escape (a backslash
before punctuation); inline spans that call the model (get_layer, model.) parse as an
expression or statement; and every layer reached with get_layer('...') exists in the model
(a chain model.get_layer('a').get_layer('b') must name the path a/b).  Prints one
"FAIL site: why" line per problem.  With --macs, a site whose model file is in REF.tsv
(file, MACs: tests/ref/macs.tsv, from ../shared/oracle/flops.py) must report that many
multiply-accumulates in layers.macs and ends with "N passed, N failed" (one check per site).
"""
import ast
import json
import os
import re
import sys

FENCE = re.compile(r'^(`{3,})\s*(\w*)\s*$')
ESCAPE = re.compile(r'\\[\\`*_{}\[\]()#+\-.!|~]')
CHAIN = re.compile(r"(\w+)((?:\.get_layer\('(?:[^'\\]|\\.)*'\))+)")
STEP = re.compile(r"\.get_layer\('((?:[^'\\]|\\.)*)'\)")


def split_code(md):
    """(blocks, spans): fenced blocks as (info, text) and inline code spans outside them."""
    blocks, spans, prose = [], [], []
    lines = md.split('\n')
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        ticks, info, body = m.group(1), m.group(2), []
        i += 1
        while i < len(lines) and lines[i].strip() != ticks:
            body.append(lines[i])
            i += 1
        i += 1
        blocks.append((info, '\n'.join(body)))
        prose.append('')
    text = '\n'.join(prose)
    for m in re.finditer(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)', text, re.S):
        spans.append(m.group(2).strip())
    return blocks, spans


def layer_paths(data):
    """Every layer path and every layer name the report data knows."""
    paths, names = set(), set()
    layers = data.get('layers', {})
    for key in ('rows', 'rows_expanded'):
        for row in layers.get(key, []) or []:
            paths.add(row.get('path') or row.get('name', ''))
            names.add(row.get('name', ''))
    for row in data.get('summary', {}).get('rows', []) or []:
        paths.add(row.get('path', ''))
        names.add(row.get('name', ''))
    return paths, names


def unquote(s):
    return re.sub(r'\\(.)', r'\1', s)


def check_names(code, paths, names, where, problems):
    for m in CHAIN.finditer(code):
        steps = [unquote(s) for s in STEP.findall(m.group(2))]
        if any('/' in s for s in steps):
            problems.append("%s: get_layer('%s'): get_layer takes one name, not a path" % (where, '/'.join(steps)))
            continue
        if m.group(1) == 'model':
            path = '/'.join(steps)
            if path not in paths:
                problems.append("%s: get_layer chain '%s' names no layer of the model" % (where, path))
        elif steps[-1] not in names:
            problems.append("%s: get_layer('%s') names no layer of the model" % (where, steps[-1]))


def parses(code):
    for mode in ('exec', 'eval'):
        try:
            ast.parse(code, mode=mode)
            return True
        except SyntaxError:
            pass
    return False


def check_macs(data, ref, problems):
    want = ref.get(data.get('model', {}).get('file'))
    got = data.get('layers', {}).get('macs')
    if want is not None and got != want:
        problems.append('layers.macs is %s, the oracle counts %d' % (got, want))


def read_ref(path):
    ref = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                name, macs = line.split('\t')
                ref[name] = int(macs)
    return ref


def check_site(site, ref):
    problems = []
    with open(os.path.join(site, 'report.md'), encoding='utf-8') as f:
        md = f.read()
    with open(os.path.join(site, 'report.json'), encoding='utf-8') as f:
        data = json.load(f)
    paths, names = layer_paths(data)
    check_macs(data, ref, problems)
    blocks, spans = split_code(md)
    for info, code in blocks:
        if info == 'python':
            try:
                ast.parse(code)
            except SyntaxError as e:
                problems.append('python block does not parse (%s): %s' % (e.msg, code.split('\n')[(e.lineno or 1) - 1]))
            check_names(code, paths, names, 'block', problems)
    for span in spans:
        if ESCAPE.search(span):
            problems.append('Markdown escape inside code: `%s`' % span)
        if 'get_layer(' in span or span.startswith('model.'):
            if not parses(span):
                problems.append('inline code is not Python: `%s`' % span)
            check_names(span, paths, names, 'inline `%s`' % span, problems)
    return problems


def main(args):
    ref = {}
    if args[:1] == ['--macs']:
        ref, args = read_ref(args[1]), args[2:]
    passed = failed = 0
    for site in args:
        problems = check_site(site, ref)
        for p in problems:
            print('FAIL [cli/code] %s: %s' % (site, p))
        if problems:
            failed += 1
        else:
            passed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
