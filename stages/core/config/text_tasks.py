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
    """A TF-IDF + logistic-regression baseline of `text_tasks.<task>.tfidf_baselines`."""

    name: str
    """The baseline's name in metrics and tables."""
    ngram_range: Pair = [1, 1]
    """[shortest, longest] word n-grams used as features."""
    max_features: PosInt | None = None
    """Keep the N most frequent n-grams; unset: all."""
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    """Drop n-grams in fewer documents: a count (int) or a share of documents (float)."""
    sublinear_tf: bool = False
    """Use 1 + log(tf) instead of the raw term frequency."""
    C: PosFloat = 1.0
    """Inverse regularisation strength of the logistic regression."""


class Nbsvm(Strict):
    """An NBSVM baseline (stages/core/baselines/nbsvm.py NBSVM_DEFAULTS)."""

    name: str
    """The baseline's name in metrics and tables."""
    ngram_range: Pair = [1, 2]
    """[shortest, longest] binarised word n-grams used as features."""
    alpha: PosFloat = 1.0
    """Smoothing added to the feature counts of the naive-Bayes log-count ratio."""
    C: PosFloat = 0.1
    """Inverse regularisation strength of the SVM or logistic regression."""
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    """Drop n-grams in fewer documents: a count (int) or a share of documents (float)."""
    max_features: PosInt | None = None
    """Keep the N most frequent n-grams; unset: all."""
    classifier: Literal["svm", "lr"] = "svm"
    """svm: interpolated linear SVM, Platt-calibrated; lr: NB logistic regression."""
    beta: Annotated[float, Field(ge=0, le=1)] = 0.25
    """SVM only: interpolation of the weights towards their mean magnitude (1: none)."""
    calibration_folds: Annotated[int, Field(ge=2)] = 3
    """SVM only: cross-validation folds of the Platt calibration."""


class TextHybrid(Strict):
    """`text_tasks.<task>.hybrids[i]`: a text variant's probabilities interpolated with one
    baseline's, the weight chosen on validation (stages/core/scoring/interpolation.py). Evaluation
    only: the variant's trained weights are reused, nothing retrains. Its row is
    `<variant>+<baseline>`, marked "hybrid" in the tables."""

    variant: str
    """A text variant of the same task."""
    baseline: str
    """One of the task's baselines, by name (majority, a tfidf or nbsvm name, unigram, ngram)."""


class Sentiment(Strict):
    """`text_tasks.<task>` of kind sentiment (IMDB-like reviews)."""

    kind: Literal["sentiment"]
    """One document per file, one folder per class; accuracy is the headline."""
    title: str | None = None
    """Heading of the task in the report; unset: the task's name."""
    dataset: str
    """The `datasets` entry holding the corpus."""
    seeds: PosInt | None = None
    """Train only the first N of `seeds`; unset: all of them."""
    val_fraction: Fraction = 0.2
    """Share of the training documents held out for validation."""
    test_fraction: Fraction | None = None
    """Without train/ and test/ folders: share of each label's documents drawn (with
    `seed`) as the test part; unset: 0.2."""
    classes: dict[str, Literal[0, 1]] | None = None
    """Folder name to label, 0 or 1 (one sigmoid output), e.g. {neg: 0, pos: 1}."""
    root: str | None = None
    """The folder inside the archive that holds the corpus; unset: the top."""
    file: str | None = None
    """Which archive or folder of data/raw/<dataset>/; unset: its only archive, else the
    folder itself."""
    encoding: str = "utf-8"
    """Text encoding of the documents."""
    tfidf_baselines: list[Tfidf] = []
    """TF-IDF + logistic-regression baselines."""
    nbsvm_baselines: list[Nbsvm] = []
    """NBSVM baselines (Wang & Manning 2012)."""
    hybrids: list[TextHybrid] = []
    """Variant + baseline interpolations, scored beside the variants."""


class Significance(Strict):
    """`text_tasks.<task>.significance`: the paired test against the baselines."""

    block: PosInt = 1000
    """Characters per chunk of the block bootstrap over the test text."""


class CharLM(Strict):
    """`text_tasks.<task>` of kind charlm (a book, next character)."""

    kind: Literal["charlm"]
    """Next-character prediction over one text; bits per character is the headline."""
    title: str | None = None
    """Heading of the task in the report; unset: the task's name."""
    dataset: str
    """The `datasets` entry holding the text."""
    seeds: PosInt | None = None
    """Train only the first N of `seeds`; unset: all of them."""
    file: str
    """The text file of that dataset."""
    encoding: str = "utf-8"
    """Text encoding of the file."""
    val_fraction: Fraction = 0.1
    """Share of the text, after the training part, held out for validation."""
    test_fraction: Fraction = 0.1
    """Share at the end of the text held out for test (with val_fraction below 1)."""
    ngram_orders: Annotated[list[PosInt], Field(min_length=1)] = [1, 2, 3, 5, 7, 9]
    """n-gram orders tried; the baseline keeps the best on validation bits/char."""
    ngram_discounts: Annotated[list[Fraction], Field(min_length=1)] = [0.75]
    """Absolute discounts tried, chosen with the order on validation."""
    significance: Significance = Significance()
    """How the test against the baselines resamples."""
    hybrids: list[TextHybrid] = []
    """Variant + baseline interpolations, scored beside the variants."""

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


