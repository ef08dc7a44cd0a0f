"""Redis URLs for one server, Sentinel and Cluster: parsed into the client they name."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from service.store.redis_url import RedisTarget, connect, parse_url


def test_plain_urls_are_left_to_redis_py() -> None:
    assert parse_url("redis://:pw@host:6379/2") is None
    assert parse_url("rediss://host") is None
    assert isinstance(connect("redis://127.0.0.1:6379/2"), Redis)


def test_sentinel_url() -> None:
    url = "redis+sentinel://app:s%40cret@s1:26379,s2,s3:26380/ageband/3?sentinel_password=sp"
    assert parse_url(url) == RedisTarget(
        mode="sentinel",
        tls=False,
        hosts=(("s1", 26379), ("s2", 26379), ("s3", 26380)),
        username="app",
        password="s@cret",
        service="ageband",
        db=3,
        sentinel_password="sp",
    )
    assert isinstance(connect(url), Redis)


def test_cluster_url() -> None:
    target = parse_url("rediss+cluster://:pw@n1:7000,n2")
    assert target is not None
    assert (target.mode, target.tls, target.hosts, target.password) == (
        "cluster", True, (("n1", 7000), ("n2", 6379)), "pw",
    )  # fmt: skip
    assert isinstance(connect("redis+cluster://127.0.0.1:7000"), RedisCluster)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached+cluster://h:1", "scheme"),
        ("redis+mesh://h:1", "scheme"),
        ("redis+cluster://h:1/0", "no path"),
        ("redis+sentinel://h:26379", "primary name"),
        ("redis+sentinel:///ageband", "no host"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_echoing_the_url(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_url(url)
    assert url not in str(err.value)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/2", "redis+sentinel://s1:26379/ageband"])
def test_the_socket_timeout_setting_reaches_the_client(url: str) -> None:
    # AGEBAND_STORE__SOCKET_TIMEOUT: how long a command may take before Redis counts as gone.
    client = connect(url, socket_timeout=7.5)
    assert isinstance(client, Redis)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 7.5
    assert connect(url).connection_pool.connection_kwargs["socket_timeout"] == 2.0


def test_the_socket_timeout_setting_reaches_the_cluster_client() -> None:
    client = connect("redis+cluster://127.0.0.1:7000", socket_timeout=7.5)
    assert isinstance(client, RedisCluster)
    assert client.connection_kwargs["socket_timeout"] == 7.5
