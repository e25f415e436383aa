"""Registers the `rnn_runs` and `rnn_backtests` resolvers (stages/core/config/runs.py)
for composing params.yaml.

Hydra imports every module of the `hydra_plugins` package while it scans for plugins;
this one sits at the project root, DVC's default `hydra.plugins_path`, so `dvc exp run`
(and `python -m stages.profile`) can resolve `runs: ${rnn_runs:...}` in conf/config.yaml.
"""

from omegaconf import OmegaConf

from stages.core.config.runs import backtests, runs


def _resolve(variants, tasks, seeds):
    def plain(node):
        return OmegaConf.to_container(node, resolve=True) if node is not None else None

    return OmegaConf.create(runs(plain(variants), plain(tasks), plain(seeds)))


def _backtests(tasks):
    return OmegaConf.create(backtests(OmegaConf.to_container(tasks, resolve=True) or {}))


if not OmegaConf.has_resolver("rnn_runs"):
    OmegaConf.register_new_resolver("rnn_runs", _resolve)
if not OmegaConf.has_resolver("rnn_backtests"):
    OmegaConf.register_new_resolver("rnn_backtests", _backtests)
