"""Follow the wakes the Slack app created and post their progress in each one's thread.

One thread does it all (so no two posts of a wake race): list the wakes labelled as
requested via Slack, post what each has not posted yet, then watch for changes until the
watch ends, and list again. What was posted is written back on the wake (annotations),
so a restarted app goes on where the last one stopped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from envwake import errors
from envwake.model.loading import Environment
from envwake.slack.progress import CHANNEL, LABEL, POSTED, THREAD, VIA_SLACK, pending
from envwake.wakes.api import GROUP, PLURAL, VERSION, WakeApi

__all__ = ["ProgressWatcher"]

logger = logging.getLogger("envwake.slack.progress")


class ProgressWatcher:
    def __init__(
        self,
        api: WakeApi,
        client: WebClient,
        environments: Callable[[], Mapping[str, Environment]],
        *,
        watch_seconds: int = 60,
        retry_seconds: float = 5.0,
    ) -> None:
        self.api = api
        self.client = client
        self.environments = environments
        self.watch_seconds = watch_seconds
        self.retry_seconds = retry_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None  # the open watch (a urllib3 response)
        self._response_lock = threading.Lock()
        self._written: dict[str, dict[str, str]] = {}  # per wake uid: annotations we wrote

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="slack-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with self._response_lock:
            if self._response is not None:
                self._response.shutdown()  # wakes the thread blocked reading the watch
        if self._thread is not None:
            self._thread.join(self.watch_seconds + 5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                version = self.sync()
                self._follow(version)
            except Exception as exc:  # the API or Slack is away: try again shortly
                if self.stopping.is_set():
                    return
                logger.warning("following wakes for Slack failed, retrying: %s", _short(exc))
                self.stopping.wait(self.retry_seconds)

    def sync(self) -> str:
        """Post what every Slack wake has not posted yet; the list's resourceVersion."""
        listing = self.api.listing(label_selector=f"{LABEL}={VIA_SLACK}")
        for wake in listing.get("items") or []:
            self.post(wake)
        return str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _follow(self, version: str) -> None:
        """Post for each change until the watch ends (or ``stop()`` shuts it)."""
        from kubernetes.watch.watch import iter_resp_lines

        response = self.api.objects.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.api.namespace,
            PLURAL,
            label_selector=f"{LABEL}={VIA_SLACK}",
            resource_version=version,
            watch=True,
            timeout_seconds=self.watch_seconds,
            _preload_content=False,
        )
        with self._response_lock:
            if self.stopping.is_set():  # stop() came while the watch was being opened
                response.close()
                return
            self._response = response
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self.post(event["object"])
                elif event.get("type") == "DELETED":
                    self._written.pop(str(event["object"]["metadata"].get("uid")), None)
                elif event.get("type") == "ERROR":  # 410 Gone: too old a version; list again
                    return
        finally:
            with self._response_lock:
                self._response = None
            # Closed, not returned to the pool: a half-read watch left open would keep
            # the API server's side of it streaming until its timeout.
            response.close()

    def post(self, wake: dict[str, Any]) -> None:
        """Post the messages ``wake`` has not posted yet, recording each on the wake."""
        labels = (wake.get("metadata") or {}).get("labels") or {}
        if labels.get(LABEL) != VIA_SLACK:
            return
        environment = self.environments().get((wake.get("spec") or {}).get("environment", ""))
        zone = ZoneInfo(environment.config.timezone) if environment else ZoneInfo("UTC")
        name = wake["metadata"]["name"]
        uid = str(wake["metadata"].get("uid") or name)
        # A watch can deliver a change made before our last annotation: what we wrote
        # (this process is the only writer of these annotations) wins over older copies.
        annotations = {**(wake["metadata"].get("annotations") or {}), **self._written.get(uid, {})}
        wake = {**wake, "metadata": {**wake["metadata"], "annotations": annotations}}
        for message in pending(wake, zone):
            thread = annotations.get(THREAD)
            changes = {POSTED: message.after.annotation()}
            if message.text:
                try:
                    answer = self.client.chat_postMessage(
                        channel=annotations[CHANNEL],
                        text=message.text,
                        thread_ts=None if message.headline else thread,
                        unfurl_links=False,
                    )
                except SlackApiError as exc:
                    logger.warning("posting for wake %s failed: %s", name, _short(exc))
                    return  # the next change of the wake, or the next list, tries again
                if message.headline:
                    changes[THREAD] = str(answer["ts"])
            annotations.update(changes)
            written = self._written.setdefault(uid, {})
            written.update(changes)
            try:
                self.api.annotate(
                    name, dict(written)
                )  # all of it: an earlier write may have failed
            except errors.KubernetesRequestFailed as exc:
                logger.warning("recording Slack progress on %s failed: %s", name, exc)
                return


def _short(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(exc, SlackApiError) and response is not None:
        return f"Slack answered {response.get('error')}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
