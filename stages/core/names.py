"""The names params may use for model parts, in one import-free place.

stages/core/zoo.py (Keras) builds exactly these and asserts so; stages/core/schema.py checks
params against them without importing Keras or numpy, so stages that never train stay
fast to start and their DVC deps stay small.
"""

RNN_TYPES = ("simple_rnn", "lstm", "gru")
POOL_TYPES = ("global_max_pool", "global_average_pool")  # over the time axis
OTHER_TYPES = ("dense", "dropout", "flatten", "embedding", "spatial_dropout")
LAYER_TYPES = (*RNN_TYPES, *OTHER_TYPES, *POOL_TYPES)
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
