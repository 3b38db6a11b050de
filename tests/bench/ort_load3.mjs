#!/usr/bin/env node
// The ONNX Runtime side of the whole-report comparison: create a session from the .onnx
// file (the engine's "load the model") and run it on three images, timed together; min and
// median over several repetitions.  Run from the oracle copy (node_modules there).
//   node ort_load3.mjs ONNX INPUT.npy [--threads 2] [--reps 5] [--json out.json]
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import {readNpy} from './tfjs_common.mjs';

const a = process.argv.slice(2);
let threads = 2, reps = 5, json = null;
const pos = [];
for (let i = 0; i < a.length; i++) {
  if (a[i] === '--threads') threads = Number(a[++i]);
  else if (a[i] === '--reps') reps = Number(a[++i]);
  else if (a[i] === '--json') json = a[++i];
  else pos.push(a[i]);
}
const [onnxPath, npyPath] = pos;
const {data, shape} = readNpy(npyPath);
const [n, h, w, c] = shape;
const nchw = new Float32Array(data.length);
for (let y = 0; y < h; y++)
  for (let x = 0; x < w; x++)
    for (let k = 0; k < c; k++) nchw[(k * h + y) * w + x] = data[(y * w + x) * c + k];
const ts = [];
for (let r = 0; r < reps; r++) {
  const t0 = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential'});
  for (let i = 0; i < 3; i++)
    await sess.run({input: new ort.Tensor('float32', nchw, [n, c, h, w])});
  ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  await sess.release();
}
ts.sort((p, q) => p - q);
const med = ts.length % 2 ? ts[ts.length >> 1] : (ts[ts.length / 2 - 1] + ts[ts.length / 2]) / 2;
const r = {engine: 'onnxruntime-node', what: 'load + 3 passes', threads, min_ms: ts[0], median_ms: med};
console.log(`ORT load + 3 passes: min ${ts[0].toFixed(1)} ms  median ${med.toFixed(1)} ms`);
if (json) fs.writeFileSync(json, JSON.stringify(r));
