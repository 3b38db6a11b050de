#!/usr/bin/python3
"""Reference texts for tests/unit/test_summary.c.

An independent Python re-statement of how each Keras generation printed
model.summary(), written from reading the Keras sources (facts only, no code
copied):

  keras1  Keras 1.x         keras/utils/layer_utils.py print_summary (1.2.2 and older)
  keras2  Keras 2.0-2.3 and tf.keras <= 2.6: fixed columns, cells cut at the next column
  tf27    tf.keras 2.7-2.12: cells wrap, '|' nesting frames, blank separator lines
  tf213   tf.keras 2.13-2.15 / tf-keras: new positions, sizes in the totals
  keras3  Keras 3: a rich Table -- rendered here by the REAL rich library
          (Debian's python3-rich), so the box layout is not re-implemented at all.

Run:  /usr/bin/python3 tests/gen/keras_summary_ref.py   (needs Debian's python3-rich)
Writes tests/ref/summary/cases.json (the row tables) and tests/ref/summary/<case>.txt.
The C test loads cases.json, formats each case and compares with the .txt.
"""
import io
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "ref", "summary")


# ----------------------------------------------------------------------------
# Small helpers shared by the pre-Keras-3 styles


def version_tuple(v):
    """'2.2.4-tf' -> ((2, 2, 4), True); unparseable -> (None, False)."""
    if not v:
        return None, False
    core, _, suffix = v.partition("-")
    nums = []
    for part in core.split("."):
        digits = ""
        for ch in part:
            if ch.isdigit():
                digits += ch
            else:
                break
        if digits == "":
            break
        nums.append(int(digits))
    if not nums:
        return None, False
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums[:3]), suffix.startswith("tf")


def py_shape(row):
    """What str(layer.output_shape) gave in Keras 1/2 and tf.keras."""
    kind = row["shape_kind"]
    if kind == "multiple":
        return "multiple"
    if kind == "unknown":
        return "?"
    tuples = [tuple(None if d is None else d for d in shape) for shape in row["shapes"]]
    if kind == "list" or len(tuples) > 1:
        return str(list(tuples))
    return str(tuples[0])


def params_text_legacy(row):
    return "0 (unused)" if row["params"] is None else str(row["params"])


def layer_label(row):
    return "%s (%s)" % (row["name"], row["class_name"])


def visible_rows(case):
    """Pre-2.7 Keras could not expand nested models; later ones only on request."""
    rows = case["rows"]
    if not case.get("expand_nested"):
        rows = [r for r in rows if r["depth"] == 0]
    return rows


# ----------------------------------------------------------------------------
# Keras 1 and Keras 2 (<= tf.keras 2.6): each cell is cut at the next column


def cut_row(cells, stops, separate):
    text = ""
    for i, cell in enumerate(cells):
        if i and separate:
            # Keras >= 1.1.2 and 2.x overwrite the last column char with a blank
            text = text[:-1] + " "
        text = (text + str(cell))[: stops[i]]
        text = text.ljust(stops[i])
    return text + "\n"


def render_keras1(case):
    ver, _ = version_tuple(case["keras_version"])
    separate = ver is None or ver >= (1, 1, 2)
    split_totals = ver is None or ver >= (1, 2, 0)
    width = 100
    stops = [int(width * f) for f in (0.33, 0.55, 0.67, 1.0)]
    rows = [r for r in case["rows"] if r["depth"] == 0]
    out = "_" * width + "\n"
    out += cut_row(["Layer (type)", "Output Shape", "Param #", "Connected to"], stops, separate)
    out += "=" * width + "\n"
    for k, row in enumerate(rows):
        links = row.get("connected", [])
        first = links[0] if links else ""
        out += cut_row([layer_label(row), py_shape(row), params_text_legacy(row), first],
                       stops, separate)
        for extra in links[1:]:
            out += cut_row(["", "", "", extra], stops, separate)
        out += ("=" if k == len(rows) - 1 else "_") * width + "\n"
    if split_totals:
        out += "Total params: {:,}\n".format(case["total_params"])
        out += "Trainable params: {:,}\n".format(case["trainable_params"])
        out += "Non-trainable params: {:,}\n".format(case["non_trainable_params"])
    else:
        out += "Total params: %d\n" % case["total_params"]
    out += "_" * width + "\n"
    return out


def render_keras2(case):
    ver, tf = version_tuple(case["keras_version"])
    seq = case["sequential_like"]
    if seq:
        width = 65
        fractions = (0.45, 0.85, 1.0)
        heads = ["Layer (type)", "Output Shape", "Param #"]
    else:
        # standalone Keras 2.0.x drew 100 columns, 2.1 onwards 98
        width = 100 if (ver is not None and not tf and ver < (2, 1, 0)) else 98
        fractions = (0.33, 0.55, 0.67, 1.0)
        heads = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    stops = [int(width * f) for f in fractions]
    # 2.0.0-2.0.3 compared node keys (strings) with Node objects: no connection matched
    links_lost = ver is not None and not tf and (2, 0, 0) <= ver < (2, 0, 4)
    named = ver is None or ver >= (2, 2, 5) or (tf and ver >= (2, 2, 4))

    out = 'Model: "%s"\n' % case["model_name"] if named else ""
    out += "_" * width + "\n" + cut_row(heads, stops, True) + "=" * width + "\n"
    rows = [r for r in case["rows"] if r["depth"] == 0]
    for k, row in enumerate(rows):
        cells = [layer_label(row), py_shape(row), params_text_legacy(row)]
        if seq:
            out += cut_row(cells, stops, True)
        else:
            links = [] if links_lost else row.get("connected", [])
            out += cut_row(cells + [links[0] if links else ""], stops, True)
            for extra in links[1:]:
                out += cut_row(["", "", "", extra], stops, True)
        out += ("=" if k == len(rows) - 1 else "_") * width + "\n"
    out += "Total params: {:,}\n".format(case["total_params"])
    out += "Trainable params: {:,}\n".format(case["trainable_params"])
    out += "Non-trainable params: {:,}\n".format(case["non_trainable_params"])
    out += "_" * width + "\n"
    return out


# ----------------------------------------------------------------------------
# tf.keras 2.7 - 2.15: wrapping cells


BREAKS = ("),", "},", "],", "',")


def wrap_row(cells, stops, depth, new_style):
    """One table row, possibly several text lines (tf.keras >= 2.7)."""
    pending = [str(c) for c in cells]
    last = len(stops) - 1
    lines = ""
    while any(pending):
        text = ""
        for col, cell in enumerate(pending):
            begin = stops[col - 1] if col else 0
            gap = 0 if col == last else 2
            room = stops[col] - begin - gap
            if new_style:
                if col != last:
                    room -= 1
                if col == 0:
                    room -= depth
            piece = cell[:room]
            ends = [piece.find(m) + len(m) for m in BREAKS if m in piece]
            if ends:
                room = min(ends)
                piece = piece[:room]
            if col == 0:
                text += "|" * depth + " "
            text += piece + " " * gap
            pending[col] = cell[room:]
            if depth and (col == last or not new_style):
                text += " " * max(0, stops[col] - len(text) - depth)
            else:
                text += " " * max(0, stops[col] - len(text))
        lines += text + "|" * depth + "\n"
    return lines


def size_text(n_bytes, units):
    value = n_bytes
    for unit in units:
        if value / 1024 < 1:
            return "{:.2f} {}".format(value, unit)
        value = value / 1024
    return "{:.2f} {}".format(value, units[-1])


def render_wrapping(case, new_style):
    seq = case["sequential_like"]
    if seq:
        width, fractions = 65, (0.45, 0.85, 1.0)
        heads = ["Layer (type)", "Output Shape", "Param #"]
    else:
        width = 98
        fractions = (0.3, 0.6, 0.7, 1.0) if new_style else (0.33, 0.55, 0.67, 1.0)
        heads = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    stops = [int(width * f) for f in fractions]
    if case.get("show_trainable"):
        width += 11
        stops.append(width)
        heads.append("Trainable")

    rows = visible_rows(case)
    out = ['Model: "%s"\n' % case["model_name"], "_" * width + "\n",
           wrap_row(heads, stops, 0, new_style), "=" * width + "\n"]

    def cells_of(row):
        cells = [layer_label(row), py_shape(row), params_text_legacy(row)]
        if not seq:
            # connections are only listed for nodes of the outer model
            links = row.get("connected", []) if row["depth"] == 0 else []
            cells.append(str(list(links)))
        if case.get("show_trainable"):
            cells.append("Y" if row["trainable"] else "N")
        return cells

    def emit(index, level, last_child):
        row = rows[index]
        out.append(wrap_row(cells_of(row), stops, level, new_style))
        nxt = index + 1
        children = []
        while nxt < len(rows) and rows[nxt]["depth"] > level:
            if rows[nxt]["depth"] == level + 1:
                children.append(nxt)
            nxt += 1
        flag = last_child
        if children:
            out.append("|" * (level + 1) + "\u00af" * (width - 2 * level - 2)
                       + "|" * (level + 1) + "\n")
            for j, child in enumerate(children):
                flag = j == len(children) - 1
                emit(child, level + 1, flag)
            out.append("|" * level + "\u00af" * (width - 2 * level) + "|" * level + "\n")
        if not flag:
            out.append("|" * level + " " * (width - 2 * level) + "|" * level + "\n")
        return nxt

    i = 0
    while i < len(rows):
        i = emit(i, 0, False)
    out.append("=" * width + "\n")
    if new_style:
        units = ["Byte", "KB", "MB", "GB", "TB", "PB"]
        out.append("Total params: %d (%s)\n" % (case["total_params"],
                                               size_text(case["total_bytes"], units)))
        out.append("Trainable params: %d (%s)\n" % (case["trainable_params"],
                                                   size_text(case["trainable_bytes"], units)))
        out.append("Non-trainable params: %d (%s)\n" % (
            case["non_trainable_params"], size_text(case["non_trainable_bytes"], units)))
    else:
        out.append("Total params: {:,}\n".format(case["total_params"]))
        out.append("Trainable params: {:,}\n".format(case["trainable_params"]))
        out.append("Non-trainable params: {:,}\n".format(case["non_trainable_params"]))
    out.append("_" * width + "\n")
    return "".join(out)


# ----------------------------------------------------------------------------
# Keras 3: build the same rich Table Keras builds, let rich draw it


def render_keras3(case):
    import rich.console
    import rich.markup
    import rich.table

    ver, _ = version_tuple(case["keras_version"])
    old = ver is not None and ver < (3, 0, 5)
    seq = case["sequential_like"]
    if seq:
        fractions = [0.45, 0.84 if old else 0.80, 1.0]
        heads = ["Layer (type)", "Output Shape", "Param #"]
        justify = ["left", "left", "right"]
    else:
        fractions = [0.3, 0.56, 0.70 if old else 0.74, 1.0]
        heads = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    trainable = case.get("show_trainable")
    if trainable:
        fractions = [f * 0.90 for f in fractions] + [1.0]
        heads.append("Trainable")
        justify.append("center")
    # a non-terminal falls back to 80 columns; Keras keeps 4 spare
    width = 80 - 4
    sizes, used = [], 0
    for f in fractions:
        sizes.append(int(f * width) - used)
        used += sizes[-1]

    table = rich.table.Table(
        *[rich.table.Column(h, justify=j, width=w) for h, j, w in zip(heads, justify, sizes)],
        width=width, show_lines=True)

    def num(x):
        return "[color(45)]None[/]" if x is None else "[color(34)]%s[/]" % x

    def shape(row):
        if row["shape_kind"] == "unknown":
            return "?"
        parts = ["(" + ", ".join(num(d) for d in s) + ")" for s in row["shapes"]]
        if len(parts) == 1:
            return parts[0]
        return str(parts).replace("'", "")

    for row in visible_rows(case):
        lead = ("   " * row["depth"] + "\u2514 ") if row["depth"] else ""
        label = rich.markup.escape(lead + row["name"])
        label += " ([color(33)]%s[/])" % rich.markup.escape(row["class_name"])
        if row["params"] is None:
            params = num(0) + " (unbuilt)"
        else:
            params = num("{:,}".format(row["params"]))
        cells = [label, shape(row), params]
        if not seq:
            links = row.get("connected", []) if row["depth"] == 0 else []
            text = ", ".join("%s[%s][%s]" % (n.split("[")[0], num(n.split("[")[1][:-1]),
                                              num(n.split("[")[2][:-1])) for n in links)
            cells.append(text or "-")
        if trainable:
            if row["params"]:
                cells.append("[bold][color(34)]Y[/][/]" if row["trainable"]
                             else "[bold][color(9)]N[/][/]")
            else:
                cells.append("[bold]-[/]")
        table.add_row(*cells)

    sink = io.StringIO()
    console = rich.console.Console(file=sink, width=80, highlight=False,
                                   force_terminal=False, color_system=None)
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    console.print('[bold]Model: "%s"[/]' % rich.markup.escape(case["model_name"]))
    console.print(table)
    for label, count, nbytes in ((" Total params: ", "total_params", "total_bytes"),
                                 (" Trainable params: ", "trainable_params", "trainable_bytes"),
                                 (" Non-trainable params: ", "non_trainable_params",
                                  "non_trainable_bytes")):
        console.print("[bold]%s[/]" % label + num("{:,}".format(case[count]))
                      + " (%s)" % size_text(case[nbytes], units))
    if case.get("optimizer_params"):
        # after fit(): the optimizer's variables, already summed into the total above
        console.print("[bold] Optimizer params: [/]" + num("{:,}".format(case["optimizer_params"]))
                      + " (%s)" % size_text(case["optimizer_bytes"], units))
    return sink.getvalue()


RENDER = {"keras1": render_keras1, "keras2": render_keras2,
          "tf27": lambda c: render_wrapping(c, False),
          "tf213": lambda c: render_wrapping(c, True),
          "keras3": render_keras3}


# ----------------------------------------------------------------------------
# The row tables


def row(name, cls, shapes, params, connected=(), depth=0, trainable=True, kind="plain"):
    if shapes is None:
        kind = "unknown"
        shapes = []
    elif shapes == "multiple":
        kind = "multiple"
        shapes = []
    elif kind == "plain" and shapes and isinstance(shapes[0], (list, tuple)):
        pass
    elif kind == "plain":
        shapes = [shapes]
    return {"name": name, "class_name": cls, "shape_kind": kind,
            "shapes": [list(s) for s in shapes], "params": params,
            "connected": list(connected), "depth": depth, "trainable": trainable}


N = None


def totals(total, trainable, nbytes=4):
    return {"total_params": total, "trainable_params": trainable,
            "non_trainable_params": total - trainable,
            "total_bytes": total * nbytes, "trainable_bytes": trainable * nbytes,
            "non_trainable_bytes": (total - trainable) * nbytes}


def case(name, style, version, model, seq, rows, tot, expand=False, trainable=False):
    c = {"name": name, "style": style, "keras_version": version, "model_name": model,
         "sequential_like": seq, "expand_nested": expand, "show_trainable": trainable,
         "rows": rows}
    c.update(tot)
    return c


COURSE_ROWS = [
    row("vgg16", "Model", (N, 4, 4, 512), 14714688, trainable=False),
    row("conv2d", "Conv2D", (N, 2, 2, 128), 589952),
    row("max_pooling2d", "MaxPooling2D", (N, 1, 1, 128), 0),
    row("flatten", "Flatten", (N, 128), 0),
    row("dense", "Dense", (N, 128), 16512),
    row("dense_1", "Dense", (N, 1), 129),
]

VAE_ROWS = [
    row("input_1", "InputLayer", (N, 28, 28, 1), 0),
    row("conv2d_1", "Conv2D", (N, 28, 28, 32), 320, ["input_1[0][0]"]),
    row("flatten_1", "Flatten", (N, 25088), 0, ["conv2d_1[0][0]"]),
    row("dense_2", "Dense", (N, 2), 50178, ["flatten_1[0][0]"]),
    row("dense_3", "Dense", (N, 2), 50178, ["flatten_1[0][0]"]),
    row("lambda_1", "Lambda", (N, 2), 0, ["dense_2[0][0]", "dense_3[0][0]"]),
    row("model_1", "Model", (N, 28, 28, 1), 56385, ["lambda_1[0][0]"]),
    row("custom_variational_layer_1", "CustomVariationalLayer",
        [(N, 28, 28, 1), (N, 28, 28, 1)], 0, ["input_1[0][0]", "model_1[1][0]"]),
]
VAE_TOT = totals(157061, 157061)

K1_ROWS = [
    row("convolution2d_1", "Convolution2D", (N, 66, 200, 24), 1824,
        ["convolution2d_input_1[0][0]"]),
    row("activation_1", "Activation", (N, 66, 200, 24), 0, ["convolution2d_1[0][0]"]),
    row("batchnormalization_1", "BatchNormalization", (N, 66, 200, 24), 48,
        ["activation_1[0][0]"]),
    row("flatten_1", "Flatten", (N, 316800), 0, ["batchnormalization_1[0][0]"]),
    row("dense_1", "Dense", (N, 1), 316801, ["flatten_1[0][0]"]),
]

TF_FUNC_ROWS = [
    row("image_input_with_a_rather_long_name", "InputLayer", [(N, 150, 150, 3)], 0,
        kind="list"),
    row("meta", "InputLayer", [(N, 12)], 0, kind="list"),
    row("conv2d", "Conv2D", (N, 148, 148, 32), 896, ["image_input_with_a_rather_long_name[0][0]"]),
    row("max_pooling2d_with_long_suffix", "MaxPooling2D", (N, 74, 74, 32), 0, ["conv2d[0][0]"]),
    row("global_average_pooling2d", "GlobalAveragePooling2D", (N, 32), 0,
        ["max_pooling2d_with_long_suffix[0][0]"]),
    row("concatenate", "Concatenate", (N, 44), 0,
        ["global_average_pooling2d[0][0]", "meta[0][0]", "global_average_pooling2d[1][0]"]),
    row("split_heads", "SplitHeads", [(N, 22), (N, 22)], 0, ["concatenate[0][0]"]),
    row("dense", "Dense", (N, 1), 23, ["split_heads[0][0]", "split_heads[0][1]"]),
]
TF_FUNC_TOT = totals(919, 919)

NESTED_SEQ_ROWS = [
    row("preprocessing", "Sequential", (N, 64, 64, 3), 0),
    row("resizing", "Resizing", (N, 64, 64, 3), 0, depth=1),
    row("rescaling", "Rescaling", (N, 64, 64, 3), 0, depth=1),
    row("base_model_with_a_long_name", "Functional", (N, 2, 2, 64), 19392, trainable=False),
    row("input_2", "InputLayer", [(N, 64, 64, 3)], 0, depth=1, trainable=False, kind="list"),
    row("block1", "Sequential", (N, 32, 32, 16), 448, depth=1, trainable=False),
    row("block1_conv", "Conv2D", (N, 64, 64, 16), 448, depth=2, trainable=False),
    row("block1_pool", "MaxPooling2D", (N, 32, 32, 16), 0, depth=2, trainable=False),
    row("block2_conv", "Conv2D", (N, 32, 32, 64), 9280, depth=1, trainable=False),
    row("block3_conv_with_a_very_long_layer_name", "Conv2D", (N, 2, 2, 64), 9664, depth=1,
        trainable=False),
    row("flatten", "Flatten", (N, 256), 0),
    row("dense", "Dense", (N, 10), 2570),
]
NESTED_SEQ_TOT = totals(21962, 2570)

NESTED_FUNC_ROWS = [
    row("input_1", "InputLayer", [(N, 32, 32, 3)], 0, kind="list"),
    row("encoder", "Functional", (N, 8, 8, 16), 896, ["input_1[0][0]"]),
    row("input_2", "InputLayer", [(N, 32, 32, 3)], 0, depth=1, kind="list"),
    row("conv", "Conv2D", (N, 8, 8, 16), 448, ["input_2[0][0]"], depth=1),
    row("bn", "BatchNormalization", (N, 8, 8, 16), 64, ["conv[0][0]"], depth=1, trainable=False),
    row("flatten", "Flatten", (N, 1024), 0, ["encoder[0][0]"]),
    row("add", "Add", (N, 1024), 0, ["flatten[0][0]", "flatten[1][0]"]),
    row("dense", "Dense", (N, 10), 10250, ["add[0][0]"]),
]
NESTED_FUNC_TOT = totals(11146, 11082)

TF213_ROWS = [
    row("input_1", "InputLayer", [(N, 150, 150, 3)], 0, kind="list"),
    row("conv2d", "Conv2D", (N, 148, 148, 32), 896, ["input_1[0][0]"]),
    row("max_pooling2d", "MaxPooling2D", (N, 74, 74, 32), 0, ["conv2d[0][0]"]),
    row("conv2d_1", "Conv2D", (N, 72, 72, 64), 18496, ["max_pooling2d[0][0]"]),
    row("global_max_pooling2d", "GlobalMaxPooling2D", (N, 64), 0, ["conv2d_1[0][0]"]),
    row("dense_a", "Dense", (N, 64), 4160, ["global_max_pooling2d[0][0]"]),
    row("add", "Add", (N, 64), 0, ["dense_a[0][0]", "global_max_pooling2d[0][0]"]),
    row("mystery", "CustomLayer", None, 0, ["add[0][0]"]),
    row("dense_b", "Dense", (N, 1), 65, ["add[0][0]"]),
]

K3_SEQ_ROWS = [
    row("vgg16", "Functional", (N, 4, 4, 512), 14714688, trainable=False),
    row("conv2d", "Conv2D", (N, 2, 2, 128), 589952),
    row("max_pooling2d", "MaxPooling2D", (N, 1, 1, 128), 0),
    row("flatten", "Flatten", (N, 128), 0),
    row("dense", "Dense", (N, 128), 16512),
    row("scalar_head", "Dense", (N, 1), 129),
    row("unused_dense_layer_with_a_name_longer_than_the_column", "Dense", None, None),
    row("flat_vector", "Reshape", (N,), 0),
    row("multi", "Custom", [(N, 2), (N, 3)], 0),
]

K3_FUNC_ROWS = [
    row("input_layer", "InputLayer", (N, 150, 150, 3), 0),
    row("side_input", "InputLayer", (N, 12), 0),
    row("conv2d", "Conv2D", (N, 148, 148, 32), 896, ["input_layer[0][0]"]),
    row("a_convolution_with_a_really_long_name_that_wraps", "Conv2D", (N, 146, 146, 32), 9248,
        ["conv2d[0][0]"]),
    row("global_average_pooling2d", "GlobalAveragePooling2D", (N, 32), 0,
        ["a_convolution_with_a_really_long_name_that_wraps[0][0]"]),
    row("concatenate", "Concatenate", (N, 44), 0,
        ["global_average_pooling2d[0][0]", "side_input[0][0]"]),
    row("big_dense", "Dense", (N, 1000000), 45000000, ["concatenate[0][0]"]),
    row("head", "Dense", (N, 1), 1000001, ["big_dense[0][0]"]),
]
K3_FUNC_TOT = totals(46010145, 46010145)

CASES = [
    case("keras2_course", "keras2", "2.3.1", "sequential", True, COURSE_ROWS,
         totals(15321281, 606593)),
    case("keras2_vae_2_0_8", "keras2", "2.0.8", "model_2", False, VAE_ROWS, VAE_TOT),
    case("keras2_vae_2_2_4", "keras2", "2.2.4", "model_2", False, VAE_ROWS, VAE_TOT),
    case("keras2_vae_2_0_2", "keras2", "2.0.2", "model_2", False, VAE_ROWS, VAE_TOT),
    case("keras2_tf_2_2_4", "keras2", "2.2.4-tf", "sequential_1", True,
         [row("conv2d", "Conv2D", (N, 26, 26, 32), 320),
          row("shared_dense_block", "SharedBlockWithAVeryLongClassName", "multiple", 4128),
          row("dropout", "Dropout", None, 0),
          row("dense", "Dense", (N, 10), 1290)], totals(5738, 5738)),
    case("keras2_tf_2_1_6", "keras2", "2.1.6-tf", "sequential_1", True,
         [row("conv2d", "Conv2D", (N, 26, 26, 32), 320),
          row("dense", "Dense", (N, 10), 330)], totals(650, 650)),
    case("keras2_tf26_functional", "keras2", "2.6.0", "model", False, TF_FUNC_ROWS, TF_FUNC_TOT),
    case("keras1_seq", "keras1", "1.2.2", "sequential_1", True, K1_ROWS, totals(318673, 318625)),
    case("keras1_old", "keras1", "1.1.0", "sequential_1", True, K1_ROWS, totals(318673, 318625)),
    case("keras1_functional", "keras1", "1.2.1", "model_1", False, VAE_ROWS[:6], totals(100676, 100676)),
    case("tf27_course", "tf27", "2.9.0", "sequential", True, COURSE_ROWS, totals(15321281, 606593)),
    case("tf27_functional", "tf27", "2.10.0", "model", False, TF_FUNC_ROWS, TF_FUNC_TOT),
    case("tf27_nested_trainable", "tf27", "2.9.0", "sequential_3", True, NESTED_SEQ_ROWS,
         NESTED_SEQ_TOT, expand=True, trainable=True),
    case("tf27_nested_functional", "tf27", "2.11.0", "autoencoder", False, NESTED_FUNC_ROWS,
         NESTED_FUNC_TOT, expand=True),
    case("tf27_nested_collapsed", "tf27", "2.12.0", "sequential_3", True, NESTED_SEQ_ROWS,
         NESTED_SEQ_TOT),
    case("tf213_functional", "tf213", "2.15.0", "model", False, TF213_ROWS, totals(23617, 23617)),
    case("tf213_course", "tf213", "2.13.1", "sequential", True, COURSE_ROWS,
         totals(15321281, 606593)),
    case("tf213_nested_trainable", "tf213", "2.14.0", "sequential_3", True, NESTED_SEQ_ROWS,
         NESTED_SEQ_TOT, expand=True, trainable=True),
    case("tf213_nested_functional_trainable", "tf213", "2.15.0", "autoencoder", False,
         NESTED_FUNC_ROWS, NESTED_FUNC_TOT, expand=True, trainable=True),
    case("tf213_zero", "tf213", "2.15.0", "empty_ish", True,
         [row("flatten", "Flatten", (N, 12), 0)],
         {"total_params": 0, "trainable_params": 0, "non_trainable_params": 0,
          "total_bytes": 0, "trainable_bytes": 0, "non_trainable_bytes": 0}),
    case("keras3_sequential", "keras3", "3.3.3", "sequential", True, K3_SEQ_ROWS,
         totals(15321281, 606593)),
    case("keras3_functional", "keras3", "3.3.3", "functional_1", False, K3_FUNC_ROWS,
         K3_FUNC_TOT),
    case("keras3_nested_trainable", "keras3", "3.6.0", "autoencoder", False, NESTED_FUNC_ROWS,
         NESTED_FUNC_TOT, expand=True, trainable=True),
    case("keras3_nested_seq_trainable", "keras3", "3.10.0", "sequential_3", True,
         NESTED_SEQ_ROWS, NESTED_SEQ_TOT, expand=True, trainable=True),
    case("keras3_old_sequential", "keras3", "3.0.2", "sequential", True, K3_SEQ_ROWS,
         totals(15321281, 606593)),
    case("keras3_old_functional", "keras3", "3.0.4", "functional_1", False, K3_FUNC_ROWS,
         K3_FUNC_TOT),
    case("keras3_old_seq_trainable", "keras3", "3.0.0", "sequential_3", True,
         NESTED_SEQ_ROWS, NESTED_SEQ_TOT, trainable=True),
    case("keras3_old_func_trainable", "keras3", "3.0.1", "functional_1", False, K3_FUNC_ROWS,
         K3_FUNC_TOT, trainable=True),
    case("keras3_long_model_name", "keras3", "3.3.3",
         "a_model_whose_name_is_so_long_that_rich_has_to_fold_it_across_two_lines_at_eighty",
         True, K3_SEQ_ROWS[:2], {"total_params": 15304640, "trainable_params": 589952,
                                 "non_trainable_params": 14714688,
                                 "total_bytes": 61218560, "trainable_bytes": 2359808,
                                 "non_trainable_bytes": 58858752}),
    case("keras3_after_fit", "keras3", "3.3.3", "sequential", True, COURSE_ROWS[1:],
         {"total_params": 606593 + 1213188, "trainable_params": 606593,
          "non_trainable_params": 0, "total_bytes": 4 * (606593 + 1213188),
          "trainable_bytes": 4 * 606593, "non_trainable_bytes": 0,
          "optimizer_params": 1213188, "optimizer_bytes": 4 * 1213188}),
    case("keras3_tiny_sizes", "keras3", "3.3.3", "tiny", True,
         [row("dense", "Dense", (N, 1), 2)],
         {"total_params": 2, "trainable_params": 2, "non_trainable_params": 0,
          "total_bytes": 8, "trainable_bytes": 8, "non_trainable_bytes": 0}),
]



# ----------------------------------------------------------------------------
# Documented outputs the renderers must reproduce before anything is written

# The course notes (Keras 2.3-era Sequential with a frozen VGG16 base).
COURSE_TEXT = """\
Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
vgg16 (Model)                (None, 4, 4, 512)         14714688  
_________________________________________________________________
conv2d (Conv2D)              (None, 2, 2, 128)         589952    
_________________________________________________________________
max_pooling2d (MaxPooling2D) (None, 1, 1, 128)         0         
_________________________________________________________________
flatten (Flatten)            (None, 128)               0         
_________________________________________________________________
dense (Dense)                (None, 128)               16512     
_________________________________________________________________
dense_1 (Dense)              (None, 1)                 129       
=================================================================
Total params: 15,321,281
Trainable params: 606,593
Non-trainable params: 14,714,688
_________________________________________________________________
"""

# shared/KERAS-NOTES.md section 1, tf.keras 2.6.
NOTES_TF26_TEXT = """\
Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #   
=================================================================
vgg16 (Functional)           (None, 4, 4, 512)         14714688  
_________________________________________________________________
flatten (Flatten)            (None, 8192)              0         
_________________________________________________________________
dense (Dense)                (None, 256)               2097408   
_________________________________________________________________
dense_1 (Dense)              (None, 1)                 257       
=================================================================
Total params: 16,812,353
Trainable params: 2,097,665
Non-trainable params: 14,714,688
_________________________________________________________________
"""

# Deep Learning with Python, notebook 8.4 (Keras 2.0.8): vae.summary(), lines verbatim.
DLWP_VAE_TEXT = "".join([
      "____________________________________________________________________________________________________\n",
      "Layer (type)                     Output Shape          Param #     Connected to                     \n",
      "====================================================================================================\n",
      "input_1 (InputLayer)             (None, 28, 28, 1)     0                                            \n",
      "____________________________________________________________________________________________________\n",
      "conv2d_1 (Conv2D)                (None, 28, 28, 32)    320         input_1[0][0]                    \n",
      "____________________________________________________________________________________________________\n",
      "conv2d_2 (Conv2D)                (None, 14, 14, 64)    18496       conv2d_1[0][0]                   \n",
      "____________________________________________________________________________________________________\n",
      "conv2d_3 (Conv2D)                (None, 14, 14, 64)    36928       conv2d_2[0][0]                   \n",
      "____________________________________________________________________________________________________\n",
      "conv2d_4 (Conv2D)                (None, 14, 14, 64)    36928       conv2d_3[0][0]                   \n",
      "____________________________________________________________________________________________________\n",
      "flatten_1 (Flatten)              (None, 12544)         0           conv2d_4[0][0]                   \n",
      "____________________________________________________________________________________________________\n",
      "dense_1 (Dense)                  (None, 32)            401440      flatten_1[0][0]                  \n",
      "____________________________________________________________________________________________________\n",
      "dense_2 (Dense)                  (None, 2)             66          dense_1[0][0]                    \n",
      "____________________________________________________________________________________________________\n",
      "dense_3 (Dense)                  (None, 2)             66          dense_1[0][0]                    \n",
      "____________________________________________________________________________________________________\n",
      "lambda_1 (Lambda)                (None, 2)             0           dense_2[0][0]                    \n",
      "                                                                   dense_3[0][0]                    \n",
      "____________________________________________________________________________________________________\n",
      "model_1 (Model)                  (None, 28, 28, 1)     56385       lambda_1[0][0]                   \n",
      "____________________________________________________________________________________________________\n",
      "custom_variational_layer_1 (Cust [(None, 28, 28, 1), ( 0           input_1[0][0]                    \n",
      "                                                                   model_1[1][0]                    \n",
      "====================================================================================================\n",
      "Total params: 550,629\n",
      "Trainable params: 550,629\n",
      "Non-trainable params: 0\n",
      "____________________________________________________________________________________________________\n",
])


DLWP_VAE_ROWS = [
    row("input_1", "InputLayer", (N, 28, 28, 1), 0),
    row("conv2d_1", "Conv2D", (N, 28, 28, 32), 320, ["input_1[0][0]"]),
    row("conv2d_2", "Conv2D", (N, 14, 14, 64), 18496, ["conv2d_1[0][0]"]),
    row("conv2d_3", "Conv2D", (N, 14, 14, 64), 36928, ["conv2d_2[0][0]"]),
    row("conv2d_4", "Conv2D", (N, 14, 14, 64), 36928, ["conv2d_3[0][0]"]),
    row("flatten_1", "Flatten", (N, 12544), 0, ["conv2d_4[0][0]"]),
    row("dense_1", "Dense", (N, 32), 401440, ["flatten_1[0][0]"]),
    row("dense_2", "Dense", (N, 2), 66, ["dense_1[0][0]"]),
    row("dense_3", "Dense", (N, 2), 66, ["dense_1[0][0]"]),
    row("lambda_1", "Lambda", (N, 2), 0, ["dense_2[0][0]", "dense_3[0][0]"]),
    row("model_1", "Model", (N, 28, 28, 1), 56385, ["lambda_1[0][0]"]),
    row("custom_variational_layer_1", "CustomVariationalLayer",
        [(N, 28, 28, 1), (N, 28, 28, 1)], 0, ["input_1[0][0]", "model_1[1][0]"]),
]

NOTES_ROWS = [
    row("vgg16", "Functional", (N, 4, 4, 512), 14714688, trainable=False),
    row("flatten", "Flatten", (N, 8192), 0),
    row("dense", "Dense", (N, 256), 2097408),
    row("dense_1", "Dense", (N, 1), 257),
]

DOCUMENTED = [
    (case("keras2_course", "keras2", "2.3.1", "sequential", True, COURSE_ROWS,
          totals(15321281, 606593)), COURSE_TEXT),
    (case("keras2_notes_tf26", "keras2", "2.6.0", "sequential", True, NOTES_ROWS,
          totals(16812353, 2097665)), NOTES_TF26_TEXT),
    (case("keras2_dlwp_vae", "keras2", "2.0.8", "model_3", False, DLWP_VAE_ROWS,
          totals(550629, 550629)), DLWP_VAE_TEXT),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for c, text in DOCUMENTED:
        got = RENDER[c["style"]](c)
        if got != text:
            sys.stderr.write("renderer disagrees with the documented output for %s:\n%s"
                             % (c["name"], got))
            return 1
    cases = [c for c, _ in DOCUMENTED[1:]] + CASES
    for c in cases:
        text = RENDER[c["style"]](c)
        with open(os.path.join(OUT, c["name"] + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        # one case per line keeps the file small and diffs readable
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":"))
                                   for c in cases) + "\n]\n")
    print("documented outputs reproduced; wrote %d cases to %s"
          % (len(cases), os.path.normpath(OUT)))


if __name__ == "__main__":
    sys.exit(main())
