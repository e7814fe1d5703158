"""Checks run before any write: every needed ``${VAR}`` is set, every training URL answers 2xx.

A wrong or expired presigned URL must fail in seconds, not after hours of training. The URLs are
fetched with a plain HTTP client that never carries the Tavus API key.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import httpx

from reconciler.api.redact import redact_url
from reconciler.kinds.replicas.models import DesiredReplica


def missing_variables(replicas: Iterable[DesiredReplica]) -> list[str]:
    return [f"{d.name}: ${{{var}}} is not set" for d in replicas for var in d.missing_vars]


def check_url(http: httpx.Client, url: str, field: str) -> str | None:
    """None when ``url`` answers 2xx to HEAD (or to a one-byte ranged GET when HEAD is refused)."""
    import time

    from reconciler.api.deadline import deadline

    shown = redact_url(url)
    limit = http.timeout.read or 15.0
    try:
        with deadline(time.monotonic() + limit):  # a trickling media server cannot stretch the check
            resp = http.head(url)
        if resp.status_code in (403, 405, 501) or resp.status_code >= 500:
            with deadline(time.monotonic() + limit):
                resp = http.get(url, headers={"Range": "bytes=0-0"})
    except httpx.HTTPError as e:
        return f"{field} {shown} could not be fetched ({type(e).__name__})"
    except (httpx.InvalidURL, ValueError, UnicodeError) as e:  # a URL the validator let through (IDNA...)
        return f"{field} {shown} is not a valid URL ({type(e).__name__})"
    if not 200 <= resp.status_code < 300:
        return f"{field} {shown} answered {resp.status_code}"
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if field == "train_image_url" and ctype and not ctype.startswith("image/"):
        return f"{field} {shown} is {ctype}, not an image"
    return None


def unreachable_urls(replicas: Iterable[DesiredReplica], *, parallelism: int = 8,
                     timeout: float = 15.0) -> list[str]:
    """Every training URL that does not answer 2xx, as ``name: field URL answered 404`` lines."""
    jobs = [(d.name, field, url) for d in replicas if not d.missing_vars
            for field, url in (getattr(d, "urls", None) or {}).items()]  # a kind without media URLs has none
    if not jobs:
        return []
    limits = httpx.Limits(max_connections=parallelism)
    with httpx.Client(timeout=timeout, follow_redirects=True, limits=limits) as http, \
            ThreadPoolExecutor(max_workers=min(parallelism, len(jobs))) as pool:
        from reconciler.api.deadline import install

        install(http)
        results = list(pool.map(lambda job: check_url(http, job[2], job[1]), jobs))
        return [f"{name}: {problem}" for (name, _, _), problem in zip(jobs, results, strict=True) if problem]
