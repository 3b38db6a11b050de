#!/usr/bin/python3
"""Expected Keras 3 optimizer variables after keras.models.load_model, for
tests/unit/test_optimizer.c.

An independent Python re-statement, written from reading Keras 3's sources (facts only, no
code copied), of what model.summary() counts on its " Optimizer params:" line
(keras/src/utils/summary_utils.py print_summary: count_params and weight_memory_size of
model.optimizer.variables, printed when model.compiled and the optimizer is built):

  which weights the optimizer is built on
    legacy .h5   keras/src/legacy/saving/legacy_h5_format.py load_model_from_hdf5: only with
                 training_config AND an optimizer_weights group; build(model._trainable_variables),
                 the model's own variables: none for Sequential / Functional
    .keras       keras/src/trainers/trainer.py Trainer.compile_from_config: build(
                 self.trainable_variables), every trainable weight
  base variables (keras/src/optimizers/base_optimizer.py)
    __init__     "iteration", dtype "int": int64 (int32 with JAX); "learning_rate", float32,
                 unless the learning rate is a LearningRateSchedule (serialized as a dict)
    build        one "average" per weight if use_ema, one "gradient_accumulator" per weight if
                 gradient_accumulation_steps
  per class, build() (keras/src/optimizers/<name>.py)
    Adam, AdamW  momentum, velocity (+ velocity_hat if amsgrad)      adam.py, adamw.py
    SGD          momentum only if momentum != 0                      sgd.py
    RMSprop      velocity (+ momentum if > 0, + average_gradient if centered)   rmsprop.py
    Adagrad      accumulator                                         adagrad.py
    Adadelta     accumulated_grad, accumulated_delta_var             adadelta.py
    Adamax       momentum, norm                                      adamax.py
    Nadam        momentum, velocity, and one scalar u_product (dtype of the first weight,
                 floatx when there is none; tracked by BaseOptimizer.__setattr__)   nadam.py
    Ftrl         accumulator, linear                                 ftrl.py
    Lion         momentum                                            lion.py
    Lamb         momentum, velocity                                  lamb.py
    Adafactor    velocity; rank >= 2: r = shape[:-1], c = shape[:-2] + shape[-1:];
                 rank < 2: two scalar placeholders (floatx)          adafactor.py
  other classes: not followed; a .keras archive's stored optimizer/vars stand in (saved by the
  same optimizer on the same weights), a legacy .h5 gets the base variables.

Trainable weight shapes come from tests/fixtures/models/weights.json (the fixture generator's
own record).  Also writes tests/fixtures/models/k3_no_opt_weights.h5: k3_functional.h5
without its optimizer_weights group (compiled, but the legacy loader builds nothing).

Run: /usr/bin/python3 tests/gen/keras_optimizer_ref.py
"""
import json
import math
import os

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
MODELS = os.path.join(ROOT, 'tests', 'fixtures', 'models')
OUT = os.path.join(ROOT, 'tests', 'ref', 'optimizer')

BASE = {'weight_decay': None, 'clipnorm': None, 'global_clipnorm': None, 'clipvalue': None,
        'use_ema': False, 'ema_momentum': 0.99, 'ema_overwrite_frequency': None,
        'loss_scale_factor': None, 'gradient_accumulation_steps': None}

SCHEDULE = {'module': 'keras.optimizers.schedules', 'class_name': 'ExponentialDecay',
            'config': {'initial_learning_rate': 0.01, 'decay_steps': 1000, 'decay_rate': 0.9,
                       'staircase': False, 'name': 'ExponentialDecay'},
            'registered_name': None}

# name, class, settings on top of BASE (learning_rate 0.001 unless given)
VARIANTS = [
    ('adam', 'Adam', {'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-07, 'amsgrad': False}),
    ('adam_amsgrad', 'Adam', {'amsgrad': True}),
    ('adamw', 'AdamW', {'weight_decay': 0.004, 'amsgrad': False}),
    ('sgd', 'SGD', {'momentum': 0.0, 'nesterov': False}),
    ('sgd_momentum', 'SGD', {'momentum': 0.9, 'nesterov': True}),
    ('rmsprop', 'RMSprop', {'rho': 0.9, 'momentum': 0.0, 'centered': False}),
    ('rmsprop_momentum_centered', 'RMSprop', {'rho': 0.9, 'momentum': 0.5, 'centered': True}),
    ('adagrad', 'Adagrad', {'initial_accumulator_value': 0.1}),
    ('adadelta', 'Adadelta', {'rho': 0.95}),
    ('adamax', 'Adamax', {}),
    ('nadam', 'Nadam', {}),
    ('ftrl', 'Ftrl', {'learning_rate_power': -0.5}),
    ('lion', 'Lion', {}),
    ('lamb', 'Lamb', {}),
    ('adafactor', 'Adafactor', {'relative_step': True}),
    ('adam_ema_accumulation', 'Adam', {'use_ema': True, 'gradient_accumulation_steps': 4}),
    ('adam_schedule', 'Adam', {'learning_rate': SCHEDULE}),
    ('sgd_schedule', 'SGD', {'learning_rate': SCHEDULE, 'momentum': 0.0}),
    ('unknown_class', 'MyOptimizer', {}),
]


def slots(cls, cfg):
    """Per-weight slot count of build(), for the classes whose slots are whole copies."""
    table = {'Adam': 2, 'AdamW': 2, 'SGD': 0, 'RMSprop': 1, 'Adagrad': 1, 'Adadelta': 2,
             'Adamax': 2, 'Nadam': 2, 'Ftrl': 2, 'Lion': 1, 'Lamb': 2, 'Adafactor': 1}
    n = table[cls]
    if cls in ('Adam', 'AdamW') and cfg.get('amsgrad'):
        n += 1
    if cls == 'SGD' and cfg.get('momentum', 0.0) != 0:
        n += 1
    if cls == 'RMSprop':
        n += (cfg.get('momentum', 0.0) > 0) + bool(cfg.get('centered'))
    return n


def variables(cls, cfg, weights, backend, stored):
    """[(shape, bytes per element)] of optimizer.variables after build(weights)."""
    out = [((), 4 if backend == 'jax' else 8)]           # iteration
    if not isinstance(cfg.get('learning_rate', 0.001), dict):
        out.append(((), 4))                               # learning_rate
    if cls not in ('Adam', 'AdamW', 'SGD', 'RMSprop', 'Adagrad', 'Adadelta', 'Adamax', 'Nadam',
                   'Ftrl', 'Lion', 'Lamb', 'Adafactor'):
        return stored if (weights and stored) else out
    for shape in weights:                                 # BaseOptimizer.build
        if cfg.get('use_ema'):
            out.append((shape, 4))
        if cfg.get('gradient_accumulation_steps'):
            out.append((shape, 4))
    for shape in weights:
        out.extend([(shape, 4)] * slots(cls, cfg))
    if cls == 'Nadam':
        out.append(((), 4))
    if cls == 'Adafactor':
        for shape in weights:
            if len(shape) < 2:
                out.extend([((), 4), ((), 4)])
            else:
                out.append((tuple(shape[:-1]), 4))
                out.append((tuple(shape[:-2]) + (shape[-1],), 4))
    return out


def stored_vars(path):
    """A .keras archive's optimizer/vars: [(shape, itemsize)]."""
    import io
    import zipfile
    with zipfile.ZipFile(path) as z:
        h = h5py.File(io.BytesIO(z.read('model.weights.h5')), 'r')
        g = h.get('optimizer/vars')
        return [(g[k].shape, g[k].dtype.itemsize) for k in g] if g is not None else []


def case(name, fixture, kind, cls, settings, weights, backend=None, stored=()):
    cfg = dict(BASE, name=cls.lower(), learning_rate=0.001)
    cfg.update(settings)
    spec = {'module': 'keras.optimizers', 'class_name': cls, 'config': cfg,
            'registered_name': None}
    if kind == 'h5':
        spec = {'class_name': cls, 'config': cfg}
    built_on = weights if kind == 'keras' else []
    vs = variables(cls, cfg, built_on, backend, list(stored))
    c = {'name': '%s_%s' % (kind, name), 'fixture': fixture, 'kind': kind,
         'optimizer': spec, 'built': True, 'variables': len(vs),
         'params': sum(math.prod(s) for s, _ in vs),
         'bytes': sum(math.prod(s) * b for s, b in vs)}
    if backend:
        c['backend'] = backend
    return c


def trainable_shapes(fixture):
    with open(os.path.join(MODELS, 'weights.json')) as fh:
        recs = json.load(fh)['fixtures'][fixture]
    return [tuple(r['shape']) for r in recs if r['trainable']]


def write_no_opt_weights():
    """k3_functional.h5 without optimizer_weights: compiled on load, optimizer never built."""
    src = h5py.File(os.path.join(MODELS, 'k3_functional.h5'), 'r')
    dst = h5py.File(os.path.join(MODELS, 'k3_no_opt_weights.h5'), 'w', libver='earliest',
                    track_order=False)
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    src.copy('model_weights', dst)
    dst.close()
    src.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    write_no_opt_weights()
    cases = []
    zw = trainable_shapes('k3_seq.keras')
    stored = stored_vars(os.path.join(MODELS, 'k3_seq.keras'))
    for name, cls, settings in VARIANTS:
        cases.append(case(name, 'k3_functional.h5', 'h5', cls, settings, []))
        cases.append(case(name, 'k3_seq.keras', 'keras', cls, settings, zw, stored=stored))
    cases.append(case('adam_jax', 'k3_functional.h5', 'h5', 'Adam', {}, [], backend='jax'))
    # not built: compiled without optimizer_weights (legacy), or not compiled at all
    cases.append({'name': 'h5_no_optimizer_weights', 'fixture': 'k3_no_opt_weights.h5',
                  'kind': 'h5', 'optimizer': None, 'built': False})
    cases.append({'name': 'keras_not_compiled', 'fixture': 'k3_seq.keras', 'kind': 'keras',
                  'optimizer': None, 'compile': None, 'built': False})
    with open(os.path.join(OUT, 'cases.json'), 'w') as fh:
        json.dump({'generator': 'tests/gen/keras_optimizer_ref.py', 'cases': cases}, fh,
                  indent=1, sort_keys=True)
        fh.write('\n')
    print('%d cases' % len(cases))


if __name__ == '__main__':
    main()
