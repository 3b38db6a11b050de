#!/usr/bin/python3
"""Table of `make bench` (tests/bench/bench.sh) from the files in build-bench/results.

  summarize.py RESULTS_DIR      -> Markdown on standard output

tlreport: tlr_<case>.json (bench_forward --json); ONNX Runtime: ort_<case>.json
(bench_ort.mjs); PyTorch: torch_<case>.json (bench_torch.py, best of its variants by min);
gflop.txt (make_onnx.py's lines); rss_*.txt (/usr/bin/time %M, KB); load_*.json;
report_us.txt and ort_load3.json; notes.txt.
"""
import glob
import json
import os
import re
import statistics
import sys

CASE_NAMES = {
    'seed_vgg16': 'course model (seed_vgg16, 150x150)',
    'vgg16_notop_150': 'VGG16 notop 150x150',
    'vgg16_notop_224': 'VGG16 notop 224x224',
    'seed_mnv2': 'seed_mnv2 (MobileNetV2-style, 96x96)',
    'tm_mnv2': 'Teachable Machine shape (MobileNetV2 a=0.35, 224x224)',
}
ORDER = ['seed_vgg16', 'vgg16_notop_150', 'vgg16_notop_224', 'seed_mnv2', 'tm_mnv2']


def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def ms(x):
    return '%.2f' % x if x < 10 else '%.1f' % x


GRAD_ITEMS = [
    ('gradcam', 'one Grad-CAM (forward + reverse to vgg16/block5_conv3 + map), 1 image'),
    ('ascent16', 'one gradient-ascent step, 16 filters of vgg16/block2_conv2, 40x40 (the report\'s)'),
    ('ascent1', 'one gradient-ascent step, 1 filter of vgg16/block2_conv2, 150x150'),
]


def gradient_rows(r):
    """The reverse pass against PyTorch float32 autograd (tlr_grad.json, torch_grad.json),
    and the whole report without the filter patterns."""
    t = load(os.path.join(r, 'tlr_grad.json'))
    if not t:
        return []
    p = load(os.path.join(r, 'torch_grad.json')) or {}
    out = ['', '| gradients, course model | tlreport ms (min / median) | PyTorch autograd ms '
           '(best variant) | tlreport / PyTorch (target <= 0.8) |', '|---|---|---|---|']
    for key, name in GRAD_ITEMS:
        a, b = t.get(key), p.get(key)
        if not a:
            continue
        out.append('| %s | %s / %s | %s | %s |' % (
            name, ms(a['min_ms']), ms(a['median_ms']),
            '%s / %s (%s)' % (ms(b['min_ms']), ms(b['median_ms']), b['variant']) if b else 'n/a',
            '**%.2f**' % (a['min_ms'] / b['min_ms']) if b else '-'))
    try:
        rep = [int(x) / 1e3 for x in open(os.path.join(r, 'report_us.txt')).read().split()]
        nop = [int(x) / 1e3 for x in open(os.path.join(r, 'report_nopatterns_us.txt')).read().split()]
    except (OSError, ValueError):
        rep, nop = [], []
    if rep and nop:
        out.append('')
        out.append('Whole default report (Grad-CAM and 16 filter patterns included): %s ms min, '
                   '%s ms median; with `--patterns 0`: %s ms min.' % (
                       ms(min(rep)), ms(statistics.median(rep)), ms(min(nop))))
    return out


def main():
    r = sys.argv[1]
    gflop = {}
    try:
        for line in open(os.path.join(r, 'gflop.txt')):
            m = re.search(r'onnx/(\w+)\.onnx: .* = ([0-9.]+) GFLOP', line)
            if m:
                gflop[m.group(1)] = float(m.group(2))
    except OSError:
        pass
    cases = [c for c in ORDER if os.path.exists(os.path.join(r, 'tlr_%s.json' % c))]
    out = []
    threads = None
    out.append('| case | tlreport ms (min / median) | GFLOP/s | ONNX Runtime ms | PyTorch ms '
               '(best variant) | tlreport / ORT | tlreport / PyTorch |')
    out.append('|---|---|---|---|---|---|---|')
    for c in cases:
        t = load(os.path.join(r, 'tlr_%s.json' % c))
        threads = t['threads']
        ort = load(os.path.join(r, 'ort_%s.json' % c))
        ort = ort[0] if ort else None
        torch = load(os.path.join(r, 'torch_%s.json' % c))
        best = min(torch, key=lambda v: v['min_s']) if torch else None
        g = gflop.get(c)
        row = ['%s' % CASE_NAMES.get(c, c), '%s / %s' % (ms(t['min_ms']), ms(t['median_ms'])),
               '%.0f' % (g / t['min_ms'] * 1e3) if g else '-']
        row.append('%s / %s' % (ms(ort['min_s'] * 1e3), ms(ort['median_s'] * 1e3)) if ort else 'n/a')
        row.append('%s / %s (%s)' % (ms(best['min_s'] * 1e3), ms(best['median_s'] * 1e3),
                                     best['variant']) if best else 'n/a')
        row.append('**%.2f**' % (t['min_ms'] / (ort['min_s'] * 1e3)) if ort else '-')
        row.append('%.2f' % (t['min_ms'] / (best['min_s'] * 1e3)) if best else '-')
        out.append('| ' + ' | '.join(row) + ' |')
    out.append('')
    out.append('Ratios compare minimum times (median ratios are within a few per cent on an idle '
               'machine); %s threads for every engine; GFLOP = 2 x multiply-adds of Conv2D and '
               'Dense, nominal (make_onnx.py).' % (threads if threads else '?'))
    out.append('')
    rss = []
    for p in sorted(glob.glob(os.path.join(r, 'rss_*.txt'))):
        try:
            rss.append(int(open(p).read().split()[-1]))
        except (OSError, ValueError, IndexError):
            pass
    loads = [load(p) for p in sorted(glob.glob(os.path.join(r, 'load_*.json')))]
    loads = [v for v in loads if v]
    out.append('| what | tlreport | reference |')
    out.append('|---|---|---|')
    if rss:
        out.append('| peak RSS, course model, one image (`--predict`) | %.1f MB (median of %d) | '
                   '< 117.8 MB (2 x 58.9 MB of weights) |' % (statistics.median(rss) / 1024, len(rss)))
    if loads:
        o = min(v['open_ms'] for v in loads)
        w = min(v['load_ms'] for v in loads)
        out.append('| open the course model + read its 58.9 MB of weights | %.1f + %.1f ms (min of %d) '
                   '| well under 100 ms |' % (o, w, len(loads)))
    for c in ('tm_mnv2', 'seed_mnv2'):
        f = load(os.path.join(r, 'fixed_%s.json' % c))
        if f:
            out.append('| fixed cost of one run, `tlreport %s.h5 --summary` (open, probe, exit; '
                       'target <= 25 ms) | %s / %s ms (min / median of %d) | h5py opening the file '
                       'and listing its datasets: %s / %s ms |' % (
                           c, ms(f['tlr_min_ms']), ms(f['tlr_median_ms']), f['runs'],
                           ms(f['ref_min_ms']), ms(f['ref_median_ms'])))
    ol3 = load(os.path.join(r, 'ort_load3.json'))
    for fname, what in (('report_us.txt', '`tlreport MODEL imgs/ -o site`'),
                        ('report_nopatterns_us.txt', 'the same with `--patterns 0`')):
        try:
            rep = [int(x) / 1e3 for x in open(os.path.join(r, fname)).read().split()]
        except (OSError, ValueError):
            rep = []
        if not rep:
            continue
        ref = ('ORT session load + 3 passes %s ms; ratio **%.2f** (target <= 0.8)' %
               (ms(ol3['min_ms']), min(rep) / ol3['min_ms'])) if ol3 else 'ORT not measured'
        out.append('| whole report, course model, 3 images (%s) | '
                   '%s / %s ms (min / median of %d) | %s |' % (what, ms(min(rep)),
                                                            ms(statistics.median(rep)),
                                                            len(rep), ref))
    out.extend(gradient_rows(r))
    try:
        notes = open(os.path.join(r, 'notes.txt')).read().strip()
    except OSError:
        notes = ''
    if notes:
        out.append('')
        out.extend('Note: ' + n.replace('bench: ', '') for n in notes.splitlines())
    print('\n'.join(out))


if __name__ == '__main__':
    main()
