"""The Helm chart: lint, Kubernetes schemas, security settings, mounts, and what bad values do."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from chart_render import (
    CHART,
    NAMESPACE,
    POLICY_FILES,
    SCENARIOS,
    env_of,
    of_kind,
    oldest_kubernetes,
    render,
    rendered,
    scenario_values,
)

from service.policy.loader import load_policy
from service.settings import Env, Settings

ROOT = CHART.parents[1]


def test_there_are_scenarios_and_each_says_what_it_shows() -> None:
    assert len(SCENARIOS) >= 4
    for name in SCENARIOS:
        first = (CHART / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Scenario: "), f"{name} needs a header comment saying what it shows"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_is_clean_for_the_oldest_supported_kubernetes(scenario: str) -> None:
    report = helm.lint(CHART, scenario_values(scenario), strict=True, kube_version=f"v{oldest_kubernetes()}")
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    assert findings == [] and report["errors"] == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_manifest_is_valid_for_the_oldest_supported_kubernetes(scenario: str) -> None:
    version = oldest_kubernetes()
    docs = rendered(scenario)
    assert docs
    for doc in docs:
        if doc["apiVersion"] == "monitoring.coreos.com/v1":
            continue  # a CRD: kubernetes-validate ships only built-in schemas; checked below
        kubernetes_validate.validate(doc, version, strict=True)
        assert doc["metadata"].get("namespace") in (None, NAMESPACE)


def test_the_full_scenario_renders_every_optional_object() -> None:
    kinds = {d["kind"] for d in rendered("values-production.yaml")}
    assert kinds >= {
        "Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler", "PodDisruptionBudget",
        "NetworkPolicy", "Ingress", "ServiceMonitor", "ConfigMap",
    }  # fmt: skip
    (monitor,) = of_kind(rendered("values-production.yaml"), "ServiceMonitor")
    (service,) = of_kind(rendered("values-production.yaml"), "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pods_are_hardened(scenario: str) -> None:
    deployments = of_kind(rendered(scenario), "Deployment")
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        assert "hostNetwork" not in pod and "hostPID" not in pod
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["runAsNonRoot"] is True
            assert "memory" in c["resources"]["limits"]
    for account in of_kind(rendered(scenario), "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def _api(scenario: str) -> dict[str, Any]:
    (dep,) = [
        d for d in of_kind(rendered(scenario), "Deployment") if not d["metadata"]["name"].endswith("-worker")
    ]
    return dep


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probes_hit_healthz_and_readyz_which_the_app_serves(scenario: str) -> None:
    (c,) = _api(scenario)["spec"]["template"]["spec"]["containers"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    paths = yaml.safe_load((ROOT / "openapi.yaml").read_text())["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= paths.keys()
    assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_policy_configmap_is_mounted_as_a_directory(scenario: str) -> None:
    docs = rendered(scenario)
    for dep in of_kind(docs, "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        policy_path = env_of(c)["AGEBAND_POLICY_PATH"]["value"]
        (vol,) = [v for v in pod["volumes"] if "configMap" in v]
        (mount,) = [m for m in c["volumeMounts"] if m["name"] == vol["name"]]
        # A whole-directory mount (no subPath) is what lets ConfigMap edits reach running pods.
        assert mount["mountPath"] == policy_path and "subPath" not in mount and mount["readOnly"]
        expected = scenario_values(scenario)["policy"].get("existingConfigMap")
        if expected:
            assert vol["configMap"]["name"] == expected
            assert not of_kind(docs, "ConfigMap")
        else:
            (cm,) = of_kind(docs, "ConfigMap")
            assert vol["configMap"]["name"] == cm["metadata"]["name"]
            assert cm["data"] == POLICY_FILES


def test_the_service_loads_a_policy_directory_laid_out_as_the_kubelet_writes_it(tmp_path: Path) -> None:
    """The kubelet writes ConfigMap files into a timestamped folder and swaps a ``..data``
    symlink; the visible names are symlinks into it. Only those must be read, once each."""
    (cm,) = of_kind(rendered("values-minimal.yaml"), "ConfigMap")
    stamp = tmp_path / "..2026_03_10_12_00_00.000000001"
    stamp.mkdir()
    for name, text in cm["data"].items():
        (stamp / name).write_text(text, encoding="utf-8")
    (tmp_path / "..data").symlink_to(stamp.name)
    for name in cm["data"]:
        (tmp_path / name).symlink_to(Path("..data") / name)
    assert load_policy(tmp_path).version == load_policy(ROOT / "policies").version


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_rendered_environment_is_accepted_by_the_service_settings(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every AGEBAND_ variable the chart sets is one the service knows, with a valid value."""
    for dep in of_kind(rendered(scenario), "Deployment"):
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        for key in [k for k in os.environ if k.startswith("AGEBAND_")]:
            monkeypatch.delenv(key)
        for name, entry in env_of(c).items():
            if name.startswith("AGEBAND_"):
                secret = "x" * 48 if name == "AGEBAND_PEPPER" else "redis://secret-host:6379/0"
                monkeypatch.setenv(name, entry.get("value", secret))
        settings = Settings()
        assert settings.env is Env.PRODUCTION
        assert settings.store.backend == "redis"
        values = scenario_values(scenario)
        if values["tokens"].get("keysFile"):
            assert settings.tokens.keys == [] and settings.tokens.keys_file is not None
        else:
            assert [k.state for k in settings.tokens.keys].count("active") == 1
        assert settings.store.min_replicas_ack == values["redis"].get("minReplicasAck", 0)
        assert settings.tracing.enabled is values.get("tracing", {}).get("enabled", False)
        audit = values.get("audit", {})
        assert settings.audit.checkpoint_key is not None
        assert settings.audit.checkpoint_key.name == audit.get("checkpointKey", "checkpoint-key.pem")
        assert [p.name for p in settings.audit.checkpoint_published_keys] == audit.get(
            "publishedCheckpointKeys", []
        )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secrets_come_from_the_existing_secret(scenario: str) -> None:
    values = scenario_values(scenario)
    secret = values["secrets"]["existingSecret"]
    for dep in of_kind(rendered(scenario), "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        env = env_of(c)
        assert env["AGEBAND_PEPPER"]["valueFrom"]["secretKeyRef"]["name"] == secret
        (vol,) = [v for v in pod["volumes"] if "secret" in v]
        assert vol["secret"]["secretName"] == secret
        if values["tokens"].get("keysFile"):
            # The whole Secret, so key files added by a rotation appear in running pods.
            assert "items" not in vol["secret"]
            assert "AGEBAND_TOKENS__KEYS" not in env
            (mount,) = [m for m in c["volumeMounts"] if m["name"] == vol["name"]]
            manifest = env["AGEBAND_TOKENS__KEYS_FILE"]["value"]
            assert manifest == f"{mount['mountPath']}/{values['tokens']['keysFile']}"
            assert "subPath" not in mount
        else:
            items = {i["key"] for i in vol["secret"]["items"]}
            keys = json.loads(env["AGEBAND_TOKENS__KEYS"]["value"])
            assert {Path(k["path"]).name for k in keys} <= items
            assert Path(env["AGEBAND_CLIENTS_FILE"]["value"]).name in items
            # The checkpoint key (production refuses to start without one) and any it replaced.
            published = json.loads(
                env.get("AGEBAND_AUDIT__CHECKPOINT_PUBLISHED_KEYS", {"value": "[]"})["value"]
            )
            checkpoint = [env["AGEBAND_AUDIT__CHECKPOINT_KEY"]["value"], *published]
            assert {Path(p).name for p in checkpoint} <= items
        if values["redis"].get("urlSecretKey"):
            ref = env["AGEBAND_STORE__REDIS_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": secret, "key": values["redis"]["urlSecretKey"]}


def test_worker_runs_the_worker_command_with_the_same_settings() -> None:
    docs = rendered("values-minimal.yaml")
    (worker,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-worker")]
    (wc,) = worker["spec"]["template"]["spec"]["containers"]
    (ac,) = _api("values-minimal.yaml")["spec"]["template"]["spec"]["containers"]
    assert wc["args"] == ["worker"] and ac["args"] == ["serve"]
    assert "ports" not in wc
    shared = {k: v for k, v in env_of(ac).items() if not k.startswith("AGEBAND_HTTP__")}
    assert env_of(wc) == shared
    assert not [
        d
        for d in of_kind(rendered("values-policy-configmap.yaml"), "Deployment")
        if "worker" in d["metadata"]["name"]
    ]


def test_the_hpa_owns_the_replica_count_when_enabled() -> None:
    assert "replicas" not in _api("values-minimal.yaml")["spec"]
    (hpa,) = of_kind(rendered("values-minimal.yaml"), "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == _api("values-minimal.yaml")["metadata"]["name"]
    assert _api("values-policy-configmap.yaml")["spec"]["replicas"] == 3
    assert not of_kind(rendered("values-policy-configmap.yaml"), "HorizontalPodAutoscaler")


def test_pdb_and_networkpolicy_select_the_api_pods() -> None:
    docs = rendered("values-production.yaml")
    labels = _api("values-production.yaml")["spec"]["template"]["metadata"]["labels"]
    (pdb,) = of_kind(docs, "PodDisruptionBudget")
    (netpol,) = of_kind(docs, "NetworkPolicy")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert netpol["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert netpol["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = of_kind(docs, "Ingress")
    paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    assert paths == ["/v1", "/.well-known"]  # /metrics stays inside the cluster


# Bad values -------------------------------------------------------------------------------

BAD_VALUES = {
    "unknown top-level key": ({"replicas": 3}, "additional properties 'replicas' not allowed"),
    "unknown nested key": (
        {"redis": {"url": "redis://r:6379", "host": "r"}},
        "additional properties 'host' not allowed",
    ),
    "writable root filesystem": (
        {
            "securityContext": {
                "readOnlyRootFilesystem": False,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            }
        },
        "/securityContext/readOnlyRootFilesystem",
    ),
    "added capability": (
        {
            "securityContext": {
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
            }
        },
        "/securityContext/capabilities/add",
    ),
    "root pod": ({"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot"),
    "no secret": ({"secrets": {"existingSecret": ""}}, "/secrets/existingSecret"),
    "no active signing key": (
        {"tokens": {"issuer": "https://a.example", "signingKeys": [{"secretKey": "k.pem", "state": "next"}]}},
        "/tokens/signingKeys",
    ),
    "unknown redis scheme": ({"redis": {"url": "memcached://m:11211"}}, "/redis/url"),
    "no redis at all": ({"redis": {"url": "", "urlSecretKey": ""}}, "/redis"),
    "bad token lifetime": (
        {"tokens": {"issuer": "https://a.example", "lifetime": "5 minutes"}},
        "/tokens/lifetime",
    ),
    "wrong type": ({"replicaCount": "three"}, "/replicaCount"),
    "key manifest outside the secret": (
        {"tokens": {"issuer": "https://a.example", "keysFile": "../keys.yaml"}},
        "/tokens/keysFile",
    ),
    "negative replica acknowledgements": (
        {"redis": {"urlSecretKey": "redis-url", "minReplicasAck": -1}},
        "/redis/minReplicasAck",
    ),
    "sample ratio above one": ({"tracing": {"enabled": True, "sampleRatio": 2}}, "/tracing/sampleRatio"),
    "unknown trace exporter": ({"tracing": {"enabled": True, "exporter": "zipkin"}}, "/tracing/exporter"),
    "unknown tracing key": (
        {"tracing": {"enabled": True, "headers": "x"}},
        "additional properties 'headers' not allowed",
    ),
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) and v else v
    return out


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_fail_at_render_time_with_a_clear_message(case: str) -> None:
    override, message = BAD_VALUES[case]
    values = _merge(scenario_values("values-minimal.yaml"), override)
    if case == "no secret":
        values["secrets"] = {**values["secrets"], "existingSecret": ""}
    with pytest.raises(helm.HelmValuesError) as err:
        render(values)
    assert message in str(err.value)


def test_the_defaults_alone_do_not_render_and_say_what_is_missing() -> None:
    with pytest.raises(helm.HelmValuesError) as err:
        render({})
    for path in ("/secrets/existingSecret", "/tokens/issuer", "/redis", "/policy"):
        assert path in str(err.value)


# Documentation ------------------------------------------------------------------------------


def _leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        documented_as_a_whole = not isinstance(value, dict) or not value or key.endswith(("Context", "Probe"))
        out += [path] if documented_as_a_whole or key == "resources" else _leaves(value, path)
    return out


def test_every_value_is_documented_in_values_yaml_and_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    values = yaml.safe_load(text)
    commented: dict[str, bool] = {}  # dotted key path -> the line above is a '# --' comment
    stack: list[str] = []
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([A-Za-z]\w*):", line)
        if m:
            stack = [*stack[: len(m.group(1)) // 2], m.group(2)]
            commented[".".join(stack)] = i > 0 and lines[i - 1].strip().startswith("# -- ")
    for path in _leaves(values):
        node = schema
        for part in path.split("."):
            node = node["properties"][part]
        assert node.get("description"), f"{path} has no description in values.schema.json"
        assert commented.get(path), f"{path} has no '# --' comment in values.yaml"

    # Every object in the schema is closed, so a typo never passes silently.
    def closed(node: dict[str, Any], where: str) -> None:
        # Security contexts pass through to Kubernetes; the schema pins only their hardening.
        passthrough = where.endswith("Context")
        if node.get("type") == "object" and "properties" in node and where.count("/") < 2 and not passthrough:
            assert node.get("additionalProperties") is False, f"{where or '/'} accepts unknown keys"
            for k, child in node["properties"].items():
                closed(child, f"{where}/{k}")

    closed(schema, "")
