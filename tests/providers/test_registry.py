"""providers/registry.py: discovery through the entry-point group, and building the enabled instances.

Every entry point here is a real ``importlib.metadata.EntryPoint`` loaded the way start-up loads
it, pointing at the built-ins or at real modules in ``fixtures_pkg``.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest

from providers.base import Flow, ProviderInfo
from providers.os_signal import OsSignalProvider
from providers.registry import GROUP, InstanceConfig, ProviderLoadError, Registry, build, discover
from providers.self_declaration import SelfDeclarationProvider

BUILT_INS = {
    "os_signal": "providers.os_signal:OsSignalProvider",
    "self_declaration": "providers.self_declaration:SelfDeclarationProvider",
}


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


def built_ins() -> dict[str, EntryPoint]:
    return {name: ep(name, value) for name, value in BUILT_INS.items()}


def with_fixture(name: str, target: str) -> dict[str, EntryPoint]:
    return {**built_ins(), name: ep(name, f"fixtures_pkg.{target}")}


def one(name: str, type_: str | None = None, **config: object) -> list[InstanceConfig]:
    return [InstanceConfig(name, type_ or name, config)]


# --- discover -------------------------------------------------------------------------------


def test_discover_finds_both_built_ins() -> None:
    found = discover()
    assert {name: found[name].value for name in BUILT_INS} == BUILT_INS
    assert all(e.group == GROUP for e in found.values())


def test_discover_accepts_the_same_entry_point_listed_twice() -> None:
    # e.g. a distribution seen twice on sys.path: same name, same target.
    found = discover([*built_ins().values(), ep("os_signal", BUILT_INS["os_signal"])])
    assert set(found) == set(BUILT_INS)


def test_a_duplicate_name_with_another_target_stops_start_up() -> None:
    lookalike = ep("os_signal", "fixtures_pkg.impostors:OsSignalLookalike")
    with pytest.raises(ProviderLoadError, match="duplicate provider name 'os_signal'") as caught:
        discover([*built_ins().values(), lookalike])
    assert BUILT_INS["os_signal"] in str(caught.value)
    assert lookalike.value in str(caught.value)


def test_discover_of_nothing_is_empty() -> None:
    assert discover([]) == {}


# --- build: the happy paths -----------------------------------------------------------------


def test_the_default_instances_build_from_the_installed_entry_points() -> None:
    registry = build(
        [
            InstanceConfig("os_signal", "os_signal", {}),
            InstanceConfig("self_declaration", "self_declaration", {}),
        ]
    )
    assert registry.names == ("os_signal", "self_declaration")
    assert isinstance(registry.get("os_signal"), OsSignalProvider)
    assert isinstance(registry.get("self_declaration"), SelfDeclarationProvider)


def test_two_instances_of_one_built_in_under_custom_names() -> None:
    registry = build(
        [
            InstanceConfig("os_signal_eu", "os_signal", {}),
            InstanceConfig("os_signal_us", "os_signal", {}),
            InstanceConfig("declared", "self_declaration", {}),
        ]
    )
    eu, us = registry.get("os_signal_eu"), registry.get("os_signal_us")
    assert isinstance(eu, OsSignalProvider)
    assert isinstance(us, OsSignalProvider)
    assert eu is not us
    assert (eu.name, us.name) == ("os_signal_eu", "os_signal_us")
    assert registry.names == ("os_signal_eu", "os_signal_us", "declared")
    assert "os_signal" not in registry
    assert registry.get("os_signal") is None
    assert [i.name for i in registry.info()] == ["os_signal_eu", "os_signal_us", "declared"]


def test_a_third_party_provider_gets_its_configuration() -> None:
    registry = build(
        one("regional_gb", "regional", region="gb"), with_fixture("regional", "configurable:RegionalProvider")
    )
    provider = registry.get("regional_gb")
    assert provider is not None
    assert provider.name == "regional_gb"
    assert registry.available("regional_gb")


def test_registry_reports_availability_and_info() -> None:
    eps = with_fixture("regional", "configurable:RegionalProvider")
    registry = build(
        [
            InstanceConfig("regional_x", "regional", {"region": "nowhere"}),
            InstanceConfig("os_signal", "os_signal", {}),
        ],
        eps,
    )
    assert not registry.available("regional_x")
    assert registry.available("os_signal")
    assert not registry.available("no_such_instance")
    assert "regional_x" in registry
    assert registry.info() == [
        ProviderInfo(
            name="regional_x",
            method_class="age_credential",
            flow=Flow.REDIRECT,
            evidence_kinds=("credential",),
            available=False,
            unavailable_reason="region_not_served",
        ),
        ProviderInfo(
            name="os_signal",
            method_class="os_signal",
            flow=Flow.SUBMIT,
            evidence_kinds=("google_play", "apple", "ab1043"),
            available=True,
        ),
    ]


def test_nothing_enabled_is_an_empty_registry() -> None:
    registry = build([])
    assert registry.names == ()
    assert registry.info() == []
    assert Registry({}).names == ()


# --- build: what stops start-up -------------------------------------------------------------


def test_an_enabled_name_without_a_provider_lists_the_installed_ones() -> None:
    with pytest.raises(ProviderLoadError) as caught:
        build(one("facial_estimation"))
    message = str(caught.value)
    assert "no provider 'facial_estimation'" in message
    installed = ", ".join(sorted(entry_points(group=GROUP).names))
    assert "os_signal, self_declaration" in installed
    assert f"installed: {installed}" in message


def test_a_custom_instance_with_an_unknown_type_names_both() -> None:
    with pytest.raises(ProviderLoadError, match="no provider 'yoti' for 'yoti_eu'"):
        build(one("yoti_eu", "yoti"), built_ins())


def test_with_nothing_installed_the_message_says_so() -> None:
    with pytest.raises(ProviderLoadError, match=r"installed: none\)"):
        build(one("os_signal"), {})


def test_a_provider_whose_import_fails_is_named() -> None:
    eps = with_fixture("vendor", "broken_import:VendorProvider")
    with pytest.raises(ProviderLoadError) as caught:
        build(one("vendor_eu", "vendor"), eps)
    message = str(caught.value)
    assert "provider 'vendor_eu'" in message
    assert "fixtures_pkg.broken_import:VendorProvider" in message
    assert "ModuleNotFoundError" in message
    assert isinstance(caught.value.__cause__, ImportError)


def test_an_entry_point_naming_a_missing_attribute_fails_to_load() -> None:
    with pytest.raises(ProviderLoadError, match=r"provider 'ghost'.*AttributeError"):
        build(one("ghost"), with_fixture("ghost", "configurable:NoSuchProvider"))


@pytest.mark.parametrize(
    "config",
    [{}, {"region": 44}, {"region": "gb", "regin": "gb"}],
    ids=["missing", "wrong_type", "unknown_key"],
)
def test_a_factory_refusing_its_configuration_stops_start_up(config: dict[str, object]) -> None:
    eps = with_fixture("regional", "configurable:RegionalProvider")
    with pytest.raises(ProviderLoadError, match=r"provider 'regional_gb'.*failed to load") as caught:
        build([InstanceConfig("regional_gb", "regional", config)], eps)
    assert isinstance(caught.value.__cause__, ValueError)


def test_a_built_in_given_configuration_stops_start_up() -> None:
    with pytest.raises(ProviderLoadError, match=r"provider 'os_signal'.*takes no configuration"):
        build(one("os_signal", sources=["apple"]))


@pytest.mark.parametrize(
    "target",
    [
        "impostors:NoSubmit",
        "impostors:SyncSubmit",
        "impostors:not_a_provider_factory",
    ],
)
def test_an_object_that_is_not_a_provider_is_rejected(target: str) -> None:
    with pytest.raises(
        ProviderLoadError, match=r"provider 'impostor'.*does not implement the provider protocol"
    ):
        build(one("impostor"), with_fixture("impostor", target))


def test_an_entry_point_that_cannot_be_called_is_rejected() -> None:
    with pytest.raises(ProviderLoadError, match=r"provider 'impostor'.*failed to load: TypeError"):
        build(one("impostor"), with_fixture("impostor", "impostors:NOT_CALLABLE"))


def test_a_provider_that_ignores_its_instance_name_is_rejected() -> None:
    with pytest.raises(ProviderLoadError, match="calls itself 'always_this_name'"):
        build(one("os_signal_eu", "misnamed"), with_fixture("misnamed", "impostors:Misnamed"))


@pytest.mark.parametrize(
    "instances",
    [
        [InstanceConfig("os_signal", "os_signal", {}), InstanceConfig("os_signal", "os_signal", {})],
        [InstanceConfig("checks", "os_signal", {}), InstanceConfig("checks", "self_declaration", {})],
    ],
    ids=["same_type", "different_types"],
)
def test_the_same_instance_name_enabled_twice_stops_start_up(instances: list[InstanceConfig]) -> None:
    with pytest.raises(ProviderLoadError, match="is enabled twice"):
        build(instances)
