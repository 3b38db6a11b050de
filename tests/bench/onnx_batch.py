#!/usr/bin/python3
"""Copy of an ONNX graph from the oracle's make_onnx.py with a free batch dimension, so
ONNX Runtime can run it at batch 8 (bench_eval.sh).  usage: onnx_batch.py IN.onnx OUT.onnx

make_onnx.py writes batch 1 into the graph's input and output shapes; every operator it
emits (Conv, Relu, MaxPool, Flatten axis=1, Gemm, ...) works for any batch, so only those
declared shapes change, and the shape annotations in between are dropped (ORT infers them)."""
import sys

import onnx

m = onnx.load(sys.argv[1])
for v in list(m.graph.input) + list(m.graph.output):
    v.type.tensor_type.shape.dim[0].dim_param = 'N'
del m.graph.value_info[:]
onnx.checker.check_model(m)
onnx.save(m, sys.argv[2])
