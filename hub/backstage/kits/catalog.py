"""Find, read and validate the starter kits in ``starter_kits/<kit>/kit.yaml``."""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from .errors import KitError

KIT_FILE = "kit.yaml"
BRIEF_FILE = "brief.md"


def default_repo_root() -> Path:
    """The repository that holds ``starter_kits/`` and ``notebooks/``.

    ``BACKSTAGE_REPO`` overrides it (read at call time); otherwise it is the checkout this package
    was installed from in editable mode (``hub/backstage/kits`` is three levels below the root).

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get("BACKSTAGE_REPO")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[3]


@cache
def kit_schema() -> dict:
    """The JSON Schema every ``kit.yaml`` must satisfy."""
    text = resources.files(__package__).joinpath("kit.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Kit:
    """One starter kit, as read from its folder.

    Attributes
    ----------
    name : str
        The folder name, used on the command line (``backstage kit build clean-air``).
    folder : pathlib.Path
        ``starter_kits/<name>``.
    repo_root : pathlib.Path
        The repository the kit's notebook paths are relative to.
    spec : dict
        The validated contents of ``kit.yaml``.
    """

    name: str
    folder: Path
    repo_root: Path
    spec: dict = field(repr=False)

    @property
    def title(self) -> str:
        return self.spec["title"]

    @property
    def datasets(self) -> list[str]:
        return list(self.spec["datasets"])

    @property
    def notebooks(self) -> list[str]:
        return list(self.spec["notebooks"])

    @property
    def brief_path(self) -> Path:
        return self.folder / BRIEF_FILE

    def notebook_files(self) -> list[Path]:
        """The kit's notebooks as files in the repository, in kit order."""
        return [self.repo_root / nb for nb in self.notebooks]


def _format_validation_error(path: Path, err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    return (
        f"{path} is not a valid kit: at {where}: {err.message}. "
        f"Fix the file so it matches hub/backstage/kits/kit.schema.json."
    )


def read_kit(folder: Path, repo_root: Path | None = None) -> Kit:
    """Read and validate one kit folder.

    Parameters
    ----------
    folder : pathlib.Path
        A folder holding ``kit.yaml`` and ``brief.md``.
    repo_root : pathlib.Path, optional
        The repository the notebook paths are relative to (default: the folder's grandparent).

    Returns
    -------
    Kit

    Raises
    ------
    KitError
        If ``kit.yaml`` or ``brief.md`` is missing, the YAML is malformed, it does not match the
        schema, or a listed notebook does not exist.
    """
    folder = Path(folder)
    repo_root = Path(repo_root) if repo_root else folder.parent.parent
    kit_file = folder / KIT_FILE
    if not kit_file.is_file():
        raise KitError(f"{folder} has no {KIT_FILE}: every kit folder needs one (see starter_kits/*/kit.yaml).")
    try:
        spec = yaml.safe_load(kit_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise KitError(f"{kit_file} is not valid YAML: {e}. Fix the syntax and try again.") from e
    validator = jsonschema.Draft202012Validator(kit_schema())
    errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path))
    if errors:
        raise KitError(_format_validation_error(kit_file, errors[0]))
    if not (folder / BRIEF_FILE).is_file():
        raise KitError(f"{folder} has no {BRIEF_FILE}: write the brief the room will read, in Markdown.")
    kit = Kit(name=folder.name, folder=folder, repo_root=repo_root, spec=spec)
    missing = [nb for nb, p in zip(kit.notebooks, kit.notebook_files(), strict=True) if not p.is_file()]
    if missing:
        raise KitError(
            f"{kit_file} lists notebooks that do not exist under {repo_root}: {', '.join(missing)}. "
            "Fix the paths (relative to the repository root) or add the notebooks."
        )
    return kit


def kits_dir(repo_root: Path | None = None) -> Path:
    """``starter_kits/`` in the given (or default) repository."""
    return (repo_root or default_repo_root()) / "starter_kits"


def kit_names(repo_root: Path | None = None) -> list[str]:
    """Names of the kit folders (those holding a ``kit.yaml``), sorted."""
    folder = kits_dir(repo_root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / KIT_FILE).is_file())


def list_kits(repo_root: Path | None = None) -> list[Kit]:
    """Read and validate every kit in the repository."""
    root = repo_root or default_repo_root()
    return [read_kit(kits_dir(root) / name, root) for name in kit_names(root)]


def find_kit(name: str, repo_root: Path | None = None) -> Kit:
    """The kit called ``name``, or a :class:`KitError` that suggests the nearest names.

    Examples
    --------
    >>> find_kit("clean-air").title  # doctest: +SKIP
    'Clean air: ...'
    """
    root = repo_root or default_repo_root()
    names = kit_names(root)
    if name not in names:
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        available = ", ".join(names) or "none"
        raise KitError(
            f"No starter kit called {name!r} in {kits_dir(root)}.{hint} "
            f"Available kits: {available} (`backstage kit list`)."
        )
    return read_kit(kits_dir(root) / name, root)
