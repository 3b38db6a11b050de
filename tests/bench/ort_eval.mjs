#!/usr/bin/env node
// The ONNX Runtime side of the evaluation benchmark (bench_eval.sh): forward passes only, on
// the same inputs tlreport evaluates (the (N, H, W, 3) .npy make_photos writes), at batch 1
// and at batch 8, timed over all N images; prints images/s.  The NCHW batches are prepared
// before the clock starts.  Run from the oracle copy (node_modules there).
//   node ort_eval.mjs ONNX_B1 ONNX_DYNAMIC INPUTS.npy [--threads 2] [--json out.json]
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import {readNpy} from './tfjs_common.mjs';

const a = process.argv.slice(2);
let threads = 2, json = null;
const pos = [];
for (let i = 0; i < a.length; i++) {
  if (a[i] === '--threads') threads = Number(a[++i]);
  else if (a[i] === '--json') json = a[++i];
  else pos.push(a[i]);
}
const [onnxB1, onnxDyn, npyPath] = pos;
const {data, shape} = readNpy(npyPath);
const [n, h, w, c] = shape;
const per = h * w * c;

function batch(i0, b) {            // images i0 .. i0+b-1 as one NCHW tensor
  const out = new Float32Array(b * per);
  for (let k = 0; k < b; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++)
          out[k * per + (ch * h + y) * w + x] = data[(i0 + k) * per + (y * w + x) * c + ch];
  return new ort.Tensor('float32', out, [b, c, h, w]);
}

async function run(path, b) {
  const sess = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential'});
  const xs = [];
  for (let i = 0; i + b <= n; i += b) xs.push(batch(i, b));
  await sess.run({input: xs[0]});   // warm-up
  const t0 = process.hrtime.bigint();
  for (const x of xs) await sess.run({input: x});
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await sess.release();
  return {batch: b, images: xs.length * b, seconds: s, images_per_s: xs.length * b / s};
}

const r1 = await run(onnxB1, 1);
console.log(`ORT batch 1: ${r1.images} images in ${r1.seconds.toFixed(2)} s, ${r1.images_per_s.toFixed(2)} images/s`);
const r8 = await run(onnxDyn, 8);
console.log(`ORT batch 8: ${r8.images} images in ${r8.seconds.toFixed(2)} s, ${r8.images_per_s.toFixed(2)} images/s`);
if (json) fs.writeFileSync(json, JSON.stringify({engine: 'onnxruntime-node', threads, runs: [r1, r8]}));
