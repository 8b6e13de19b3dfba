"""Files attached to a question, turned into what the model receives (issue 13).

Platform-neutral and pure: adapters download the files, this package reads them within
`AttachmentLimits` and says in `Prepared.notices` what it cut or skipped. Text, code
and PDFs become fenced text blocks; PNG, JPEG, GIF and WebP become images for a model
that sees (`vision_capable`); anything else becomes a notice.
"""

from __future__ import annotations

from core.attachments.fetching import FetchFailed, RemoteFile, fetch_all
from core.attachments.limits import AttachmentLimits
from core.attachments.models import Attachment, Prepared, PreparedImage
from core.attachments.reader import read_attachments, read_attachments_async
from core.attachments.vision import vision_capable

__all__ = [
    "Attachment",
    "AttachmentLimits",
    "FetchFailed",
    "Prepared",
    "PreparedImage",
    "RemoteFile",
    "fetch_all",
    "read_attachments",
    "read_attachments_async",
    "vision_capable",
]
