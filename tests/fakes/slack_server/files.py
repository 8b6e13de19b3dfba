"""Files people shared, and their download URL as Slack serves it.

Slack serves `url_private_download` only to a bot token with `files:read`; without it
the answer is not a 401 but 200 with its sign-in page (HTML), which a bot must notice.
Tests can make a file fail with any status or be slow to arrive.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.slack_server.state import Workspace


class Files(Workspace):
    """Shared files and their downloads; a mixin of `FakeSlack`."""

    def _init_files(self) -> None:
        """No files yet."""
        # Files people shared (`add_file`), served at their `url_private_download` to a
        # bot token with `files:read`; without it Slack answers 200 with its sign-in
        # page (HTML), as it does. `file_errors`: file id -> HTTP status to answer
        # instead; `file_delay`: seconds before any file is served. `file_downloads`
        # counts the downloads per file id.
        self.files: dict[str, dict[str, Any]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self.file_errors: dict[str, int] = {}
        self.file_delay = 0.0
        self.file_downloads: Counter[str] = Counter()

    def add_file(self, name: str, data: bytes, *, mimetype: str = "", user: str = "U1") -> dict[str, Any]:
        """Share a file as `user` would; Slack's file object, to put in an event's `files`."""
        fid = f"F{next(self._ids):010d}"
        url = f"{self.base_url}/files-pri/{self.team_id}-{fid}/{quote(name)}"
        info = {
            "id": fid,
            "created": int(self._clock()),
            "name": name,
            "title": name,
            "mimetype": mimetype or "application/octet-stream",
            "filetype": name.rpartition(".")[2].lower() if "." in name else "binary",
            "user": user,
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{fid}/{quote(name)}",
        }
        self.files[fid] = info
        self._file_bytes[fid] = data
        return copy.deepcopy(info)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        fid = request.match_info["fid"].rpartition("-")[2]
        if self.file_delay:
            await asyncio.sleep(self.file_delay)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not token.startswith("xoxb-") or token in self.revoked_tokens or not self.files_scope:
            # Slack does not answer 401 here: it sends its sign-in page.
            return web.Response(
                text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html"
            )
        if fid not in self._file_bytes:
            return web.Response(status=404, text="file not found")
        if fid in self.file_errors:
            return web.Response(status=self.file_errors[fid], text="refused")
        self.file_downloads[fid] += 1
        return web.Response(body=self._file_bytes[fid], content_type=self.files[fid]["mimetype"])
