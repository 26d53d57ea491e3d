"""The links a hand-out carries: the lab's own copy of the notebooks, and (given a repository) nbgitpuller and Binder.

The lab link needs no internet: every home already holds the starter notebooks (the spawner copies the
lab's ``notebooks/`` folder into it), and a kit's notebooks are always under ``notebooks/``, so the link
signs the attendee in and opens the kit's first notebook there. Pulling from a git repository
(nbgitpuller) or launching on Binder needs a real, reachable repository: a placeholder is refused.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlencode, urlsplit

from traitlets import Unicode, default, validate
from traitlets.config import Configurable

from .errors import KitError

#: The project's placeholder address, written in old hand-outs and docs: no repository lives there.
PLACEHOLDER_REPO = "https://github.com/government-backstage/government-backstage"
#: Domains reserved for documentation (RFC 2606, RFC 6761): a repository there is a placeholder too.
_PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net", "example", "invalid", "test")


def is_placeholder_repo(url: str) -> bool:
    """Whether ``url`` is a placeholder rather than a repository people can pull from.

    Examples
    --------
    >>> is_placeholder_repo("https://github.com/government-backstage/government-backstage.git")
    True
    >>> is_placeholder_repo("https://git.example.org/x/y"), is_placeholder_repo("https://github.com/me/fork")
    (True, False)
    """
    def bare(u: str) -> str:
        return re.sub(r"(\.git)?/*$", "", u.strip().lower())

    host = (urlsplit(url).hostname or "").lower()
    return bare(url) == bare(PLACEHOLDER_REPO) or any(
        host == d or host.endswith("." + d) for d in _PLACEHOLDER_DOMAINS
    )


class KitLinks(Configurable):
    """Where participants pull a kit from, and how the links to it are built."""

    repo = Unicode(
        help="""Git repository that holds starter_kits/ and notebooks/, for the nbgitpuller and Binder links.

        Any URL git can clone: https://, git:// or file://. Defaults to $BACKSTAGE_KIT_REPO, else none
        (the hand-out then carries only the lab link, which needs no repository).
        Example: backstage kit build clean-air --repo https://github.com/me/fork
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
        return os.environ.get("BACKSTAGE_KIT_REPO", "")

    @default("branch")
    def _default_branch(self):
        return os.environ.get("BACKSTAGE_KIT_BRANCH", "main")

    @validate("repo")
    def _check_repo(self, proposal):
        value = proposal["value"].strip()
        if value and urlsplit(value).scheme not in {"https", "http", "git", "file", "ssh"}:
            raise KitError(
                f"--repo {value!r} is not a git URL: give one git can clone, e.g. "
                "https://github.com/OWNER/REPO or file:///path/to/repo"
            )
        return value

    def check_not_placeholder(self) -> None:
        """Refuse a placeholder repository (see :func:`is_placeholder_repo`) with the fix."""
        if self.repo and is_placeholder_repo(self.repo):
            raise KitError(
                f"--repo {self.repo!r} is a placeholder, not a repository attendees can pull from: its "
                "nbgitpuller and Binder links would fail. Give your own with --repo https://github.com/OWNER/REPO "
                "(a public copy of this project), or leave --repo out (and unset $BACKSTAGE_KIT_REPO): the "
                "lab link works without one. To build with it anyway (a dry run), add --allow-placeholder-repo."
            )

    def _need_repo(self) -> None:
        if not self.repo:
            raise KitError("no repository is set: give --repo https://github.com/OWNER/REPO (or $BACKSTAGE_KIT_REPO)")

    @staticmethod
    def _hub_base(hub: str) -> str:
        parts = urlsplit(hub)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise KitError(
                f"--hub {hub!r} is not the address of a hub: give its URL, e.g. --hub https://lab.example.org"
            )
        base = hub.rstrip("/")
        return base[: -len("/hub")] if base.endswith("/hub") else base

    def lab(self, hub: str, path: str) -> str:
        """The link that signs a person in and opens ``path`` from the copy in their own home: no internet.

        Parameters
        ----------
        hub : str
            The hub's public URL, e.g. ``https://lab.example.org``.
        path : str
            A notebook under ``notebooks/`` (the folder every home holds), relative to the repository root.

        Examples
        --------
        >>> KitLinks().lab("https://lab.example.org/", "notebooks/01-welcome.ipynb")
        'https://lab.example.org/hub/user-redirect/lab/tree/notebooks/01-welcome.ipynb'
        """
        return f"{self._hub_base(hub)}/hub/user-redirect/lab/tree/{quote(path)}"

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
        self._need_repo()
        base = self._hub_base(hub)
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
        self._need_repo()
        parts = urlsplit(self.repo)
        base = self.binder_url.rstrip("/")
        query = urlencode({"urlpath": f"lab/tree/{path}"})
        if parts.netloc == "github.com":
            owner_repo = re.sub(r"\.git$", "", parts.path.strip("/"))
            return f"{base}/v2/gh/{owner_repo}/{quote(self.branch, safe='')}?{query}"
        return f"{base}/v2/git/{quote(self.repo, safe='')}/{quote(self.branch, safe='')}?{query}"
