"""The way of the CLI and the Slack app to the cluster: the kubeconfig (current context by
default) or the pod's ServiceAccount, and EnvironmentWakes read and written with the API
server's refusals as one clear line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from envwake import errors

__all__ = ["GROUP", "PLURAL", "VERSION", "WakeApi", "connect"]

GROUP, VERSION, PLURAL = "envwake.dev", "v1alpha1", "environmentwakes"
T = TypeVar("T")


@dataclass
class WakeApi:
    """EnvironmentWakes in one namespace of one cluster."""

    objects: Any  # kubernetes.client.CustomObjectsApi
    namespace: str
    host: str

    def _call(self, what: str, call: Callable[[], T], *, listing: bool = False) -> T:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return call()
        except ApiException as exc:
            hint = ""
            if exc.status == 404 and listing:  # a list 404s only when the type is not served
                hint = " (is the EnvironmentWake CRD installed? kubectl apply -k crds/)"
            raise errors.KubernetesRequestFailed(
                f"{what}: {_refusal(exc)}{hint}", status=exc.status
            ) from None
        except HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise errors.KubernetesRequestFailed(
                f"{what}: cannot reach the Kubernetes API at {self.host} ({reason})"
            ) from None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            f"creating an EnvironmentWake in namespace {self.namespace}",
            lambda: self.objects.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body
            ),
        )
        return result

    def get(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            f"reading EnvironmentWake {self.namespace}/{name}",
            lambda: self.objects.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            ),
        )
        return result

    def list(
        self, *, all_namespaces: bool = False, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (
            self.listing(all_namespaces=all_namespaces, label_selector=label_selector).get("items")
            or []
        )
        return items

    def listing(self, *, all_namespaces: bool = False, label_selector: str = "") -> dict[str, Any]:
        """The list answer itself (its ``metadata.resourceVersion`` starts a watch)."""
        answer: dict[str, Any]
        if all_namespaces:
            answer = self._call(
                "listing EnvironmentWakes in all namespaces",
                lambda: self.objects.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, label_selector=label_selector
                ),
                listing=True,
            )
        else:
            answer = self._call(
                f"listing EnvironmentWakes in namespace {self.namespace}",
                lambda: self.objects.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, label_selector=label_selector
                ),
                listing=True,
            )
        return answer

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            f"changing EnvironmentWake {self.namespace}/{name}",
            lambda: self.objects.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, {"spec": spec}
            ),
        )
        return result

    def annotate(self, name: str, annotations: dict[str, str]) -> dict[str, Any]:
        patch = {"annotations": annotations}
        result: dict[str, Any] = self._call(
            f"annotating EnvironmentWake {self.namespace}/{name}",
            lambda: self.objects.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, {"metadata": patch}
            ),
        )
        return result

    def delete(self, name: str) -> None:
        self._call(
            f"deleting EnvironmentWake {self.namespace}/{name}",
            lambda: self.objects.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            ),
        )


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> WakeApi:
    """The cluster of ``context`` in ``kubeconfig`` (defaults as kubectl has them); in a
    pod with neither a kubeconfig nor $KUBECONFIG, its ServiceAccount."""
    from kubernetes import client, config

    if _in_a_pod_without_kubeconfig(kubeconfig):
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        in_pod = client.ApiClient()
        own = Path(_SERVICE_ACCOUNT, "namespace").read_text().strip()
        return WakeApi(
            client.CustomObjectsApi(in_pod), namespace or own, str(in_pod.configuration.host)
        )
    where = f" {kubeconfig}" if kubeconfig else ""
    try:
        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context
        )
        contexts, active = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=kubeconfig
        )
    except (config.ConfigException, OSError) as exc:
        raise errors.KubernetesRequestFailed(
            f"cannot use the kubeconfig{where}: {str(exc).strip() or type(exc).__name__}"
        ) from None
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    default = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    host = str(api_client.configuration.host)
    return WakeApi(client.CustomObjectsApi(api_client), namespace or default, host)


_SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _in_a_pod_without_kubeconfig(kubeconfig: str | None) -> bool:
    return (
        not kubeconfig
        and not os.environ.get("KUBECONFIG")
        and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and not Path("~/.kube/config").expanduser().exists()
        and Path(_SERVICE_ACCOUNT, "token").exists()
    )


def _refusal(exc: Any) -> str:
    """What the API server said: its Status message when it sent one."""
    message = ""
    try:
        message = str(json.loads(exc.body or "{}").get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    status = f"{exc.status} {exc.reason}".strip()
    return (
        f"the API server answered {status}: {message}"
        if message
        else f"the API server answered {status}"
    )
