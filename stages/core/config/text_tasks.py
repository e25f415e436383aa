"""`text_tasks.<task>`: a sentiment corpus or a book for next-character models, with its
baselines and hybrids (stages prepare_text / evaluate_text)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, Tag, model_validator

from stages.core.config.base import (
    TAG,
    Fraction,
    Pair,
    PosFloat,
    PosInt,
    Strict,
    problem,
    shaped,
    tagged,
)

# ----------------------------------------------------------------------------- text tasks


class Tfidf(Strict):
    name: str
    ngram_range: Pair = [1, 1]
    max_features: PosInt | None = None
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    sublinear_tf: bool = False
    C: PosFloat = 1.0


class Nbsvm(Strict):
    """An NBSVM baseline (stages/datasets/imdb.py NBSVM_DEFAULTS)."""

    name: str
    ngram_range: Pair = [1, 2]
    alpha: PosFloat = 1.0
    C: PosFloat = 0.1
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    max_features: PosInt | None = None
    classifier: Literal["svm", "lr"] = "svm"
    beta: Annotated[float, Field(ge=0, le=1)] = 0.25
    calibration_folds: Annotated[int, Field(ge=2)] = 3


class TextHybrid(Strict):
    """`text_tasks.<task>.hybrids[i]`: a text variant's probabilities interpolated with one
    baseline's, the weight chosen on validation (stages/core/scoring/interpolation.py). Evaluation
    only: the variant's trained weights are reused, nothing retrains. Its row is
    `<variant>+<baseline>`, marked "hybrid" in the tables."""

    variant: str
    baseline: str


class Sentiment(Strict):
    """`text_tasks.<task>` of kind sentiment (IMDB-like reviews)."""

    kind: Literal["sentiment"]
    title: str | None = None
    dataset: str
    seeds: PosInt | None = None
    val_fraction: Fraction = 0.2
    test_fraction: Fraction | None = None
    classes: dict[str, Literal[0, 1]] | None = None
    root: str | None = None
    file: str | None = None
    encoding: str = "utf-8"
    tfidf_baselines: list[Tfidf] = []
    nbsvm_baselines: list[Nbsvm] = []
    hybrids: list[TextHybrid] = []


class Significance(Strict):
    block: PosInt = 1000


class CharLM(Strict):
    """`text_tasks.<task>` of kind charlm (a book, next character)."""

    kind: Literal["charlm"]
    title: str | None = None
    dataset: str
    seeds: PosInt | None = None
    file: str
    encoding: str = "utf-8"
    val_fraction: Fraction = 0.1
    test_fraction: Fraction = 0.1
    ngram_orders: Annotated[list[PosInt], Field(min_length=1)] = [1, 2, 3, 5, 7, 9]
    ngram_discounts: Annotated[list[Fraction], Field(min_length=1)] = [0.75]
    significance: Significance = Significance()
    hybrids: list[TextHybrid] = []

    @model_validator(mode="after")
    def held_out(self) -> CharLM:
        if self.val_fraction + self.test_fraction >= 1:
            raise problem("test_fraction", "val_fraction + test_fraction must be < 1")
        return self


TextTask = Annotated[
    Union[  # noqa: UP007
        Annotated[Sentiment, Tag(f"kind{TAG}sentiment")],
        Annotated[CharLM, Tag(f"kind{TAG}charlm")],
    ],
    tagged("kind", ("sentiment", "charlm")),
]


