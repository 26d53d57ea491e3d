"""Fetching through a real local HTTP server (or a mirror folder): verified, retried, locked, cached."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import pooch
import pytest

import govdata
from govdata.settings import settings

SMALL = "lad21-region-lookup"  # 15 kB
SMALL_FILE = "lad21_to_rgn21_lookup_england.csv"
LARGE = "ons-subnational-indicators-2024"  # 2.6 MB
LARGE_FILE = "ons_subnational_indicators_2024.csv"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(cache):
    return [p.name for p in cache.rglob("*") if p.name.endswith(".part")]


def test_mirror_folder_is_copied_into_the_cache_and_verified(mirror_env):
    path = govdata.fetch(SMALL)
    assert path == mirror_env / SMALL_FILE
    assert _sha(path) == govdata.info(SMALL).sha256


def test_http_mirror_downloads_once_then_the_warm_cache_makes_no_network_call(serve, gov_env, monkeypatch,
                                                                             shared_datasets):
    with serve(folder=shared_datasets) as server:
        monkeypatch.setenv("GOVDATA_MIRROR", server.url + "/")
        first = govdata.fetch(SMALL)
        assert server.hits[SMALL_FILE] == 1
        again = govdata.fetch(SMALL)
        assert again == first and server.hits[SMALL_FILE] == 1
    # the server is gone: a warm cache still answers, without trying the network
    assert govdata.fetch(SMALL) == first


def test_503_503_200_succeeds_on_the_third_try(serve, gov_env, monkeypatch, shared_datasets, caplog):
    with serve(folder=shared_datasets) as server:
        server.behave[SMALL_FILE] = [503, 503]
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        path = govdata.fetch(SMALL)
        assert server.hits[SMALL_FILE] == 3
    assert _sha(path) == govdata.info(SMALL).sha256
    assert sum("HTTP 503" in r.getMessage() for r in caplog.records) == 2


def test_a_stalled_server_fails_within_the_timeout(serve, gov_env, monkeypatch, shared_datasets):
    monkeypatch.setenv("GOVDATA_TIMEOUT", "0.5")
    monkeypatch.setenv("GOVDATA_RETRIES", "1")
    with serve(folder=shared_datasets) as server:
        server.stall_seconds = 4
        server.behave[SMALL_FILE] = ["stall", "stall"]
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        start = time.monotonic()
        with pytest.raises(govdata.DatasetUnavailableError) as err:
            govdata.fetch(SMALL)
        elapsed = time.monotonic() - start
    assert elapsed < 3.5, f"took {elapsed:.1f} s"
    assert "Timeout" in str(err.value) and "GOVDATA_MIRROR" in str(err.value)
    assert not (gov_env / SMALL_FILE).exists() and not _leftovers(gov_env)


@pytest.mark.parametrize("damage", ["tamper", "truncate"])
def test_a_tampered_or_truncated_download_raises_names_both_hashes_and_leaves_no_file(serve,
        gov_env, monkeypatch, shared_datasets, damage):
    with serve(folder=shared_datasets) as server:
        server.behave[SMALL_FILE] = [damage]
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        with pytest.raises(govdata.HashMismatchError) as err:
            govdata.fetch(SMALL)
    body = (shared_datasets / SMALL_FILE).read_bytes()
    bad = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:] if damage == "tamper" else body[: len(body) // 2]
    message = str(err.value)
    assert SMALL_FILE in message
    assert f"expected {govdata.info(SMALL).sha256}" in message
    assert f"got {hashlib.sha256(bad).hexdigest()}" in message
    assert not (gov_env / SMALL_FILE).exists() and not _leftovers(gov_env)
    assert isinstance(err.value, ValueError)


def test_a_tampered_file_in_a_mirror_folder_is_refused(gov_env, monkeypatch, tmp_path, shared_datasets):
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / SMALL_FILE).write_bytes((shared_datasets / SMALL_FILE).read_bytes().replace(b"London", b"Londres"))
    monkeypatch.setenv("GOVDATA_MIRROR", str(folder))
    with pytest.raises(govdata.HashMismatchError, match="does not match"):
        govdata.fetch(SMALL)
    assert not (gov_env / SMALL_FILE).exists()


def test_a_corrupt_cache_file_is_detected_and_fetched_again(serve, gov_env, monkeypatch, shared_datasets, caplog):
    with serve(folder=shared_datasets) as server:
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        path = govdata.fetch(SMALL)
        path.write_bytes(path.read_bytes()[:100])  # a half-written or damaged cache entry
        again = govdata.fetch(SMALL)
        assert server.hits[SMALL_FILE] == 2
    assert _sha(again) == govdata.info(SMALL).sha256
    assert any("corrupt" in r.getMessage() for r in caplog.records)


def test_no_network_and_no_cache_says_how_to_set_the_mirror(gov_env, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GOVDATA_MIRROR", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOVDATA_RETRIES", "1")
    with pytest.raises(govdata.DatasetUnavailableError) as err:
        govdata.fetch(SMALL)
    message = str(err.value)
    assert "GOVDATA_MIRROR" in message and "No verified copy is in the cache" in message
    assert str(gov_env) in message and SMALL in message


def test_a_missing_file_in_a_mirror_folder_is_a_clear_error(gov_env, monkeypatch, tmp_path):
    monkeypatch.setenv("GOVDATA_MIRROR", str(tmp_path))
    with pytest.raises(govdata.DatasetUnavailableError, match="does not exist"):
        govdata.fetch(SMALL)


def test_eight_processes_fetching_at_once_download_once_and_get_identical_files(serve, gov_env,
                                                                               shared_datasets):
    with serve(folder=shared_datasets, delay=0.5) as server:
        env = {**os.environ, "GOVDATA_MIRROR": server.url, "GOVDATA_CACHE": str(gov_env)}
        code = (f"import govdata; print(govdata.fetch('{LARGE}')); "
                f"df = govdata.load('{LARGE}'); print(len(df), float(df['real'].sum()))")
        procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, [r[1][-500:] for r in results]
        assert server.hits[LARGE_FILE] == 1
    outputs = {out for out, _ in results}
    assert len(outputs) == 1  # same path, same table, in every process
    assert outputs.pop().splitlines()[0] == str(gov_env / LARGE_FILE)
    assert _sha(gov_env / LARGE_FILE) == govdata.info(LARGE).sha256
    assert len(list((gov_env / "parsed").glob("*.arrow"))) == 1
    assert not _leftovers(gov_env)


def test_a_progress_bar_is_shown_for_large_files_only(serve, gov_env, monkeypatch, shared_datasets, capfd):
    with serve(folder=shared_datasets) as server:
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        govdata.fetch(SMALL)
        assert "100%" not in capfd.readouterr().err
        govdata.fetch(LARGE)
        assert "100%" in capfd.readouterr().err


def test_aurn_uses_the_open_columns_mirror_distribution_when_the_original_is_absent(serve, gov_env, monkeypatch,
                                                                                   shared_datasets):
    with serve(folder=shared_datasets) as server:
        monkeypatch.setenv("GOVDATA_MIRROR", server.url)
        path = govdata.fetch("aurn-sites-2020")
        assert server.hits["aurn_measurement_sites_addresses_postcodes.csv"] == 1  # tried first: 404
    assert path.name == "defra_aurn_sites_2020.csv"
    assert _sha(path) == govdata.info("aurn-sites-2020").mirror_distributions[0]["sha256"]


def test_settings_read_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv("GOVDATA_CACHE", raising=False)
    assert settings().cache_dir == str(pooch.os_cache("govdata"))
    monkeypatch.setenv("GOVDATA_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("GOVDATA_MIRROR", "https://mirror.example/govdata")
    assert settings().cache_path == tmp_path / "a" and settings().mirror == "https://mirror.example/govdata"
    for name, trait in type(settings()).class_traits(config=True).items():
        assert trait.help, f"{name} has no help"


def test_fetch_appends_provenance_to_the_log_named_at_call_time(mirror_env, monkeypatch, tmp_path):
    log = tmp_path / "provenance.jsonl"
    govdata.fetch(SMALL)  # no log set: nothing written
    monkeypatch.setenv("GOVDATA_PROVENANCE_LOG", str(log))
    govdata.fetch(SMALL)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 1
    assert set(lines[0]) == {"id", "title", "sha256", "licence", "licence_url", "publisher", "attribution", "url"}
    assert lines[0]["id"] == SMALL and lines[0]["sha256"] == govdata.info(SMALL).sha256


def _lock_is_held(lock_path) -> bool:
    import fcntl

    with open(lock_path, "a") as f:  # a new open file description: flock sees any other holder
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("where", ["folder", "http"])
def test_pooch_downloads_and_verifies_inside_the_cross_process_lock(serve, gov_env, monkeypatch, shared_datasets,
                                                                   where):
    calls = []
    real_retrieve = pooch.retrieve

    def spy(url, known_hash=None, fname=None, path=None, **kwargs):
        calls.append((url, known_hash, _lock_is_held(f"{path}/{fname}.lock")))
        return real_retrieve(url, known_hash=known_hash, fname=fname, path=path, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", spy)
    with serve(folder=shared_datasets) as server:
        monkeypatch.setenv("GOVDATA_MIRROR", server.url if where == "http" else str(shared_datasets))
        path = govdata.fetch(SMALL)
    assert [(known, held) for _, known, held in calls] == [(govdata.info(SMALL).sha256, True)]
    assert calls[0][0].endswith(SMALL_FILE)
    assert _sha(path) == govdata.info(SMALL).sha256


def test_fetched_files_are_readable_as_the_umask_allows(gov_env, monkeypatch, shared_datasets):
    # pooch's temporary file is 0600; a cache or mirror folder shared by a venue must stay readable
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    old = os.umask(0o022)
    try:
        path = govdata.fetch(SMALL)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
