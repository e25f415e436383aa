"""Write params.yaml for a profile, composed from conf/ exactly as `dvc exp run` does.

`python -m stages.profile smoke [key=value ...]` writes params.yaml and makes the profile
stick: `dvc exp run` recomposes params.yaml from conf/, so the command also sets
hydra.config_name in .dvc/config.local to the profile's entry file (conf/<profile>.yaml)
and a later plain `dvc exp run` composes the same profile; `python -m stages.profile
default` unsets it. `dvc exp run -S profile=smoke` switches one experiment only.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from stages.core.io import PARAMS_FILE, StageError, atomic_path, run_stage

CONF_DIR = Path("conf")
DVC_DIR = Path(".dvc")
PROFILES = ("default", "smoke", "paper", "seeds", "full")


def config_name(profile: str) -> str:
    """The file Hydra composes the profile from: conf/config.yaml (whose defaults pick the
    default profile) or conf/<profile>.yaml (config.yaml with the profile overridden)."""
    return "config" if profile == "default" else profile


def compose(
    profile: str,
    overrides: list[str] | None = None,
    output: Path = PARAMS_FILE,
    conf_dir: Path = CONF_DIR,
) -> None:
    """Compose conf/ with the profile and Hydra overrides, check the whole tree against
    stages/core/config/schema.py, and only then replace `output`: a typo or a bad value leaves
    the previous params.yaml as it was, and the error lists every problem, one a line."""
    if profile not in PROFILES:
        raise StageError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}.")
    from stages.core.config.schema import check_params

    source = f"{conf_dir}/ (profile {profile})"
    with atomic_path(output, suffix=".yaml") as tmp:  # renamed over `output` on success
        dump(profile, overrides or [], tmp, conf_dir)
        tmp.chmod(0o644)  # mkstemp's 0600 would otherwise become params.yaml's mode
        tree = yaml.safe_load(tmp.read_text(encoding="utf-8"))
        check_params(
            tree,
            source,
            f"Fix the values in {conf_dir}/ (or the overrides) and re-run; "
            f"{output} was left as it was.",
        )


def dump(profile: str, overrides: list[str], output: Path, conf_dir: Path) -> None:
    """Hydra's composition, as `dvc exp run` does it, written to `output`."""
    from dvc.utils.hydra import compose_and_dump  # heavy import: only when asked
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from stages.composition import CompositionError

    try:
        compose_and_dump(
            output,
            str(Path(conf_dir).resolve()),
            None,
            config_name(profile),  # what `dvc exp run` composes after remember(profile)
            str(Path.cwd()),  # hydra.plugins_path as `dvc exp run` has it: hydra_plugins/ here
            overrides,
        )
    except OmegaConfBaseException as exc:  # e.g. seeds: [1, 1] in the run-list resolver
        raise StageError(
            f"{conf_dir}/ (profile {profile}): {exc}. Fix the value and re-run."
        ) from exc
    except CompositionError as exc:  # the schema's lines (hydra_plugins/rnn_checks.py)
        raise StageError(
            "\n".join(f"{conf_dir}/ (profile {profile}): {line}" for line in exc.lines)
            + f"\nNothing was composed; {PARAMS_FILE} was left as it was."
        ) from exc
    except HydraException as exc:  # any other: Hydra's own words, without the traceback
        raise StageError(
            f"{conf_dir}/ (profile {profile}): {exc}\n"
            f"Nothing was composed; {PARAMS_FILE} was left as it was."
        ) from exc


def main(argv: list[str]) -> None:
    if not argv:
        raise StageError(
            f"usage: python -m stages.profile {{{'|'.join(PROFILES)}}} [key=value ...]"
        )
    compose(argv[0], argv[1:])
    print(f"wrote {PARAMS_FILE} for profile {argv[0]}")
    if remember(argv[0]):
        print(f"a plain `dvc exp run` composes profile {argv[0]} too (.dvc/config.local)")


def remember(profile: str, dvc_dir: Path = DVC_DIR) -> bool:
    """Point DVC's Hydra composition at the profile (hydra.config_name in config.local, not
    committed), so that a plain `dvc exp run` keeps it instead of recomposing the default
    profile from conf/ (49 trainings). Only the command line does this, never compose():
    tests compose freely. Outside a DVC repository (no .dvc/) there is nothing to set."""
    if not dvc_dir.is_dir():
        return False
    from dvc.config import Config

    with Config(dvc_dir=str(dvc_dir)).edit("local") as conf:
        hydra = conf.setdefault("hydra", {})
        if profile == "default":
            hydra.pop("config_name", None)
        else:
            hydra["config_name"] = config_name(profile)
        if not hydra:
            del conf["hydra"]
    return True


if __name__ == "__main__":
    run_stage(main)
