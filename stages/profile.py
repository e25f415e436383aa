"""Write params.yaml for a profile, composed from conf/ exactly as `dvc exp run` does.

`dvc exp run -S profile=smoke` is the usual way to switch; this command is for plain
`dvc repro` workflows and for tests: `python -m stages.profile smoke [key=value ...]`.
"""

from __future__ import annotations

from pathlib import Path

from stages.core.io import PARAMS_FILE, StageError, run_stage

CONF_DIR = Path("conf")
PROFILES = ("default", "smoke", "paper", "seeds")


def compose(profile: str, overrides: list[str] | None = None, output: Path = PARAMS_FILE) -> None:
    """Compose conf/ with the profile and Hydra overrides, and write `output`."""
    from dvc.utils.hydra import compose_and_dump  # heavy import: only when asked

    if profile not in PROFILES:
        raise StageError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}.")
    from omegaconf.errors import OmegaConfBaseException

    try:
        compose_and_dump(
            output,
            str(CONF_DIR.resolve()),
            None,
            "config",
            str(Path.cwd()),  # hydra.plugins_path as `dvc exp run` has it: hydra_plugins/ here
            [f"profile={profile}", *(overrides or [])],
        )
    except OmegaConfBaseException as exc:  # e.g. seeds: [1, 1] in the run-list resolver
        raise StageError(f"conf/ (profile {profile}): {exc}. Fix the value and re-run.") from exc


def main(argv: list[str]) -> None:
    if not argv:
        raise StageError(
            f"usage: python -m stages.profile {{{'|'.join(PROFILES)}}} [key=value ...]"
        )
    compose(argv[0], argv[1:])
    print(f"wrote {PARAMS_FILE} for profile {argv[0]}")


if __name__ == "__main__":
    run_stage(main)
