"""The names params may use for model parts, and the metric that judges each kind of
prediction, in one import-free place.

stages/core/models/zoo.py (Keras) builds exactly these and asserts so; the config models
(stages/core/config/) check params against them without importing Keras or numpy, so
stages that never train stay fast to start and their DVC deps stay small.
"""

RNN_TYPES = ("simple_rnn", "lstm", "gru")
POOL_TYPES = ("global_max_pool", "global_average_pool")  # over the time axis
OTHER_TYPES = ("dense", "dropout", "flatten", "embedding", "spatial_dropout")
LAYER_TYPES = (*RNN_TYPES, *OTHER_TYPES, *POOL_TYPES)
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")

# What each kind of prediction is judged on: (metric, split, lower is better). The report's
# verdicts and the score charts read it (through stages/core/scoring/metrics.py); the schema checks
# that a target (params `targets`) bounds the metric from the side where it improves.
HEADLINE = {
    "forecast": ("rmse_orig", "test", True),
    "sentiment": ("accuracy", "test", False),
    "charlm": ("bits_per_char", "test", True),
}
