"""Write params.yaml for a profile, composed from conf/ exactly as `dvc exp run` does.

`dvc exp run -S profile=smoke` is the usual way to switch; this command is for plain
`dvc repro` workflows and for tests: `python -m stages.profile smoke [key=value ...]`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from stages.core.io import PARAMS_FILE, StageError, atomic_path, run_stage

CONF_DIR = Path("conf")
PROFILES = ("default", "smoke", "paper", "seeds", "full")


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

    try:
        compose_and_dump(
            output,
            str(Path(conf_dir).resolve()),
            None,
            "config",
            str(Path.cwd()),  # hydra.plugins_path as `dvc exp run` has it: hydra_plugins/ here
            [f"profile={profile}", *overrides],
        )
    except OmegaConfBaseException as exc:  # e.g. seeds: [1, 1] in the run-list resolver
        raise StageError(
            f"{conf_dir}/ (profile {profile}): {exc}. Fix the value and re-run."
        ) from exc
    except HydraException as exc:  # an override Hydra cannot apply: say which and why
        lines = override_problems(profile, overrides, output, conf_dir) or [str(exc)]
        raise StageError(
            "\n".join(f"{conf_dir}/ (profile {profile}): {line}" for line in lines)
            + f"\nNothing was composed; {PARAMS_FILE} was left as it was."
        ) from exc


def override_problems(
    profile: str, overrides: list[str], output: Path, conf_dir: Path
) -> list[str]:
    """One line per `key=value` override whose key the composed profile lacks: a key the
    schema knows but conf/ leaves unset needs Hydra's leading `+`; any other is a typo,
    with the closest key as at any unknown key in conf/ (stages/core/config/messages.py)."""
    import difflib

    from stages.core.config.messages import allowed_keys
    from stages.core.config.schema import Params

    dump(profile, [], output, conf_dir)  # the profile alone, to look the keys up in
    tree = yaml.safe_load(Path(output).read_text(encoding="utf-8"))
    out = []
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or key.startswith(("+", "~")):
            continue
        parts, node, depth = key.split("."), tree, 0
        while depth < len(parts) and isinstance(node, dict) and parts[depth] in node:
            node, depth = node[parts[depth]], depth + 1
        if depth == len(parts) or not isinstance(node, dict):
            continue  # present (the error is elsewhere) or below a value
        at, missing = ".".join(parts[: depth + 1]), parts[depth]
        known = sorted({*node, *allowed_keys(Params, tuple(parts[:depth]))})
        if missing in known and depth == len(parts) - 1:
            out.append(f"{at}: not set in conf/, so it cannot be overridden; add it: +{override}")
            continue
        close = difflib.get_close_matches(missing, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
        out.append(f"{at}: unknown key ({hint})")
    return out


def main(argv: list[str]) -> None:
    if not argv:
        raise StageError(
            f"usage: python -m stages.profile {{{'|'.join(PROFILES)}}} [key=value ...]"
        )
    compose(argv[0], argv[1:])
    print(f"wrote {PARAMS_FILE} for profile {argv[0]}")


if __name__ == "__main__":
    run_stage(main)
