"""The names params may use for model parts, in one import-free place.

stages/core/zoo.py (Keras) builds exactly these and asserts so; stages/core/schema.py checks
params against them without importing Keras or numpy, so stages that never train stay
fast to start and their DVC deps stay small.
"""

RNN_TYPES = ("simple_rnn", "lstm", "gru")
LAYER_TYPES = (*RNN_TYPES, "dense", "dropout", "flatten", "embedding")
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
