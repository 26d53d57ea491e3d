"""The links a hand-out carries: nbgitpuller for the lab, and Binder for everyone else."""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlencode, urlsplit

from traitlets import Unicode, default, validate
from traitlets.config import Configurable

from .errors import KitError

DEFAULT_REPO = "https://github.com/government-backstage/government-backstage"


class KitLinks(Configurable):
    """Where participants pull a kit from, and how the links to it are built."""

    repo = Unicode(
        help="""Git repository that holds starter_kits/ and notebooks/ (what nbgitpuller and Binder clone).

        Any URL git can clone: https://, git:// or file://. Defaults to $BACKSTAGE_KIT_REPO, else the
        project's public repository. Example: backstage kit build clean-air --repo https://github.com/me/fork
        """,
    ).tag(config=True)

    branch = Unicode(
        help="Branch of the repository to pull. Defaults to $BACKSTAGE_KIT_BRANCH, else 'main'.",
    ).tag(config=True)

    binder_url = Unicode(
        "https://mybinder.org",
        help="BinderHub to launch the kit on when a participant has no lab account. "
        "Example: --binder-url https://binder.example.org",
    ).tag(config=True)

    @default("repo")
    def _default_repo(self):
        return os.environ.get("BACKSTAGE_KIT_REPO", DEFAULT_REPO)

    @default("branch")
    def _default_branch(self):
        return os.environ.get("BACKSTAGE_KIT_BRANCH", "main")

    @validate("repo")
    def _check_repo(self, proposal):
        value = proposal["value"].strip()
        if urlsplit(value).scheme not in {"https", "http", "git", "file", "ssh"}:
            raise KitError(
                f"--repo {value!r} is not a git URL: give one git can clone, e.g. "
                "https://github.com/OWNER/REPO or file:///path/to/repo"
            )
        return value

    @property
    def repo_dir(self) -> str:
        """The folder nbgitpuller clones into: the repository's last path part, without ``.git``."""
        name = urlsplit(self.repo).path.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"\.git$", "", name) or "repo"

    def nbgitpuller(self, hub: str, path: str) -> str:
        """The link that pulls the repository into a participant's home and opens ``path`` in Lab.

        Parameters
        ----------
        hub : str
            The hub's public URL, e.g. ``https://lab.example.org`` (``/hub/`` is added).
        path : str
            The file to open, relative to the repository root.

        Examples
        --------
        >>> KitLinks(repo="https://github.com/a/b", branch="main").nbgitpuller(
        ...     "https://lab.example.org", "notebooks/01-welcome.ipynb")
        'https://lab.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fa%2Fb&branch=main&urlpath=lab%2Ftree%2Fb%2Fnotebooks%2F01-welcome.ipynb'
        """
        parts = urlsplit(hub)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise KitError(
                f"--hub {hub!r} is not the address of a hub: give its URL, e.g. --hub https://lab.example.org"
            )
        base = hub.rstrip("/")
        if base.endswith("/hub"):
            base = base[: -len("/hub")]
        query = urlencode(
            {"repo": self.repo, "branch": self.branch, "urlpath": f"lab/tree/{self.repo_dir}/{path}"}
        )
        return f"{base}/hub/user-redirect/git-pull?{query}"

    def binder(self, path: str) -> str:
        """A Binder launch link opening ``path`` in JupyterLab.

        GitHub repositories use Binder's short ``gh/OWNER/REPO/BRANCH`` form; any other public git
        URL uses ``git/<url-encoded URL>/BRANCH``.

        Examples
        --------
        >>> KitLinks(repo="https://github.com/a/b.git", branch="main").binder("notebooks/x.ipynb")
        'https://mybinder.org/v2/gh/a/b/main?urlpath=lab%2Ftree%2Fnotebooks%2Fx.ipynb'
        """
        parts = urlsplit(self.repo)
        base = self.binder_url.rstrip("/")
        query = urlencode({"urlpath": f"lab/tree/{path}"})
        if parts.netloc == "github.com":
            owner_repo = re.sub(r"\.git$", "", parts.path.strip("/"))
            return f"{base}/v2/gh/{owner_repo}/{quote(self.branch, safe='')}?{query}"
        return f"{base}/v2/git/{quote(self.repo, safe='')}/{quote(self.branch, safe='')}?{query}"
