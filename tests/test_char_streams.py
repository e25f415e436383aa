"""Stateful truncated backpropagation through a text (`model.stateful: true` on a character
variant): windows.streams / stream_order and layouts.StreamFeeds."""

from __future__ import annotations

import numpy as np
import pytest

from stages.core.data import windows
from stages.core.io import StageError


def test_streams_are_contiguous_and_batch_major():
    x, y = windows.streams(np.arange(23), 2, 3)
    # stream 0 = 0..8, stream 1 = 9..17; row j of batch k = stream j's k-th sequence
    assert x.tolist() == [[0, 1, 2], [9, 10, 11], [3, 4, 5], [12, 13, 14], [6, 7, 8], [15, 16, 17]]
    assert (y == x + 1).all()
    assert windows.stream_order(y, 2).tolist() == list(range(1, 19))  # text order
    with pytest.raises(StageError, match="cannot fill 30 streams"):
        windows.streams(np.arange(23), 30, 3)


ARCH = {
    "layers": [
        {"type": "embedding", "input_dim": 5, "output_dim": 4},
        {"type": "lstm", "units": 6},
    ],
    "head": {"units": 5, "activation": "softmax"},
    "sequence_output": True,
}


def test_stream_predictions_carry_state_and_come_back_in_text_order():
    """Each held-out stream scored batch by batch (state carried) equals the same weights
    reading the whole stream at once; log2p is in text order, first target first."""
    import keras

    from stages.core.models.layouts import StreamFeeds
    from stages.core.models.zoo import build_model

    rng = np.random.default_rng(0)
    ids = {
        s: rng.integers(0, 5, n).astype(np.uint8)
        for s, n in [("train", 80), ("val", 62), ("test", 47)]
    }
    feeds = StreamFeeds(ids, 5, {**ARCH, "stateful": True}, {"batch_size": 3, "epochs": 1})
    assert feeds.stateful and feeds.batch_size == 3 and feeds.epoch(0)["shuffle"] is False
    keras.utils.set_random_seed(1)
    model = build_model({**ARCH, "stateful": True}, feeds.input_shape, 3)
    whole = build_model(ARCH, (None,))
    whole.set_weights(model.get_weights())
    out = feeds.predict(model)
    per = (len(ids["val"]) - 1) // 3 // 5 * 5  # 20 characters per stream
    text = ids["val"][: 3 * per + 1].astype(np.int32)
    streams_x = text[:-1].reshape(3, per)
    probs = whole.predict(streams_x, verbose=0).reshape(3 * per, 5)
    expected = np.log2(probs[np.arange(3 * per), text[1:]])
    assert out["val_log2p"].shape == (3 * per,)
    np.testing.assert_allclose(out["val_log2p"], expected, atol=1e-5)
    # a second call starts from zero state again (reset before each split)
    np.testing.assert_allclose(feeds.predict(model)["val_log2p"], expected, atol=1e-5)
    assert out["test_correct"].shape == ((len(ids["test"]) - 1) // 3 // 5 * 15,)


def test_a_window_trained_model_is_scored_as_streams_by_a_stateful_twin():
    """A non-stateful character model is scored like a stateful one: the held-out text as
    eval_streams streams, each character from all the text before it in its stream."""
    import keras

    from stages.core.models.layouts import charlm_feeds
    from stages.core.models.zoo import build_model

    rng = np.random.default_rng(2)
    ids = {s: rng.integers(0, 5, 90).astype(np.uint8) for s in ("train", "val", "test")}
    variant = {"inputs": {"seq_length": 4}, "train": {"batch_size": 6, "eval_streams": 2}}
    feeds = charlm_feeds(ids, variant, "v", ARCH)
    assert feeds.train[0].shape == (22, 4)  # training keeps seed 004's windows
    keras.utils.set_random_seed(3)
    model = build_model(ARCH, feeds.input_shape)
    out = feeds.predict(model)
    per = 89 // 2 // 4 * 4  # 44 characters per stream
    text = ids["test"][: 2 * per + 1].astype(np.int32)
    probs = model.predict(text[:-1].reshape(2, per), verbose=0).reshape(2 * per, 5)
    expected = np.log2(probs[np.arange(2 * per), text[1:]])
    np.testing.assert_allclose(out["test_log2p"], expected, atol=1e-5)
    assert out["test_correct"].tolist() == (probs.argmax(-1) == text[1:]).tolist()


def test_charlm_feeds_pick_streams_for_stateful_models():
    from stages.core.models.layouts import CharFeeds, StreamFeeds, charlm_feeds

    ids = {s: np.arange(200, dtype=np.uint8) % 7 for s in ("train", "val", "test")}
    base = {"inputs": {"seq_length": 4}, "train": {"batch_size": 5, "epochs": 1}}
    assert type(charlm_feeds(ids, {**base, "model": {}}, "v")) is CharFeeds
    assert charlm_feeds(ids, {**base, "model": {}}, "v").streams == 5  # default: batch_size
    assert isinstance(charlm_feeds(ids, {**base, "model": {"stateful": True}}, "v"), StreamFeeds)
