"""Checks every composition of conf/ against the params schema (stages/composition.py).

Hydra imports every module of the `hydra_plugins` package while it scans for plugins, which
`dvc exp run` and `python -m stages.profile` both do before composing; importing this one
makes a misspelt override key or a typo in conf/ stop the composition with the schema's
line (key path, did-you-mean) instead of Hydra's "Could not override", or a params.yaml
that runs the pipeline until a stage refuses it.
"""

from stages.composition import install

install()
