"""The `iocfeed` command as a user runs it: import, accounts, keys, db."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from iocfeed.cli import app
from iocfeed.store.migrate import head_revision
from iocfeed.store.schema import indicators

runner = CliRunner()


@pytest.fixture
def cli_env(database, tmp_path, monkeypatch):
    monkeypatch.setenv("IOCFEED_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("IOCFEED_DATABASE_URL", database.url)
    monkeypatch.delenv("IOCFEED_TIERS", raising=False)
    return database


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


MESSY_TXT = (
    "\ufeff# Feodo-style list, with everything that goes wrong in real files\r\n"
    "\r\n"
    "185.220.101.4\r\n"
    "   \r\n"
    "# a comment\r\n"
    "hxxps://login-update[.]example-bad[.]com/verify?id=1\r\n"
    "not an indicator\r\n"
    "2001:DB8:0:0:0:0:0:1\r\n"
    "44D88612FEA8A8F36DE82E1278ABB02F\r\n"
    "44d88612fea8a8f36de82e1278abb02\r\n"
    "bad-actor[@]mail-fraud[.]example[.]org\r\n"
    "185.220.101[.]4\r\n"
)


def test_import_reports_counts_and_rejections_with_line_numbers(cli_env, tmp_path):
    path = tmp_path / "feed.txt"
    path.write_bytes(MESSY_TXT.encode())
    result = run("import", str(path), "--source", "Test Feed", "--category", "community", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["new"] == 5 and report["rejected"] == 2
    assert [(r["location"], r["value"]) for r in report["rejections"]] == [
        ("line 7", "not an indicator"),
        ("line 10", "44d88612fea8a8f36de82e1278abb02"),
    ]
    assert all(r["reason"] for r in report["rejections"])
    engine = cli_env.engine()
    with engine.connect() as connection:
        stored = {r.value for r in connection.execute(select(indicators.c.value))}
    engine.dispose()
    assert stored == {
        "185.220.101.4",
        "https://login-update.example-bad.com/verify?id=1",
        "2001:db8::1",
        "44d88612fea8a8f36de82e1278abb02f",
        "bad-actor@mail-fraud.example.org",
    }


def test_importing_the_same_file_again_changes_nothing(cli_env, tmp_path):
    path = tmp_path / "feed.txt"
    path.write_bytes(MESSY_TXT.encode())
    run("import", str(path), "--source", "Test Feed", "--category", "community")
    engine = cli_env.engine()
    with engine.connect() as connection:
        before = connection.execute(select(indicators.c.value, indicators.c.updated_at)).all()
    result = run("import", str(path), "--source", "Test Feed", "--category", "community", "--json")
    report = json.loads(result.stdout)
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 0, 5)
    with engine.connect() as connection:
        assert sorted(
            connection.execute(select(indicators.c.value, indicators.c.updated_at)).all()
        ) == sorted(before)
    engine.dispose()


def test_import_csv_with_columns_and_human_output(cli_env, tmp_path):
    path = tmp_path / "advisory.csv"
    path.write_text(
        "value,type,first_seen,tags,context\n"
        "1.2.3[.]4,ipv4,2026-11-01T10:00:00Z,c2;apt,C2 server\n"
        "evil.example.com,domain,2026-11-02,phishing,\n"
        "T1059.001,mitre-attack,,,\n"
        "1.2.3.5,domain,,,\n"
        "6.6.6.6,ipv4,last tuesday,,\n"
    )
    result = run(
        "import",
        str(path),
        "--source",
        "CISA Alerts",
        "--category",
        "government",
        "--industry",
        "energy",
        "--industry",
        "finance",
        "--reliability",
        "90",
    )
    assert result.exit_code == 0, result.output
    assert "rejected line 5" in result.output and "rejected line 6" in result.output
    assert "bad first_seen" in result.output


def test_import_json_array_and_lines(cli_env, tmp_path):
    array = tmp_path / "a.json"
    array.write_text('[{"value": "8.8.4.5", "tags": ["dns"]}, {"value": "bad..domain"}]')
    report = json.loads(
        run("import", str(array), "--source", "J", "--category", "commercial", "--json").stdout
    )
    assert (report["new"], report["rejected"]) == (1, 1)
    lines = tmp_path / "b.jsonl"
    lines.write_text('{"value": "8.8.4.6"}\n{oops\n')
    report = json.loads(
        run("import", str(lines), "--source", "J", "--category", "commercial", "--json").stdout
    )
    assert (report["new"], report["rejected"]) == (1, 1)
    assert report["rejections"][0]["location"] == "line 2"


def test_import_fixed_type_and_bad_options(cli_env, tmp_path):
    path = tmp_path / "hashes.txt"
    path.write_text("44d88612fea8a8f36de82e1278abb02f\n1.2.3.4\n")
    report = json.loads(
        run("import", str(path), "--source", "H", "--category", "community", "--type", "md5", "--json").stdout
    )
    assert (report["new"], report["rejected"]) == (1, 1)
    assert run("import", str(path), "--source", "H", "--category", "military").exit_code != 0
    assert (
        run("import", str(path), "--source", "H", "--category", "community", "--type", "ip4").exit_code == 1
    )
    assert (
        run("import", str(path), "--source", "H", "--category", "community", "--industry", "space").exit_code
        == 1
    )
    assert (
        run("import", str(path), "--source", "H", "--category", "community", "--reliability", "101").exit_code
        != 0
    )
    assert (
        run("import", str(tmp_path / "missing.txt"), "--source", "H", "--category", "community").exit_code
        != 0
    )


def test_import_of_an_unreadable_csv_fails_cleanly(cli_env, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("ip,port\n1.2.3.4,80\n")
    result = run("import", str(path), "--source", "X", "--category", "community")
    assert result.exit_code == 1
    assert "no 'value' column" in result.output


def test_accounts_and_keys_lifecycle(cli_env):
    assert run("accounts", "create", "soc", "--tier", "free").exit_code == 0
    duplicate = run("accounts", "create", "soc", "--tier", "free")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert run("accounts", "create", "x", "--tier", "platinum").exit_code == 1
    minted = [json.loads(run("keys", "create", "soc", "--name", f"k{i}", "--json").stdout) for i in range(3)]
    assert all(m["key"].startswith("sk_live_") and len(m["key"]) >= 40 for m in minted)
    over = run("keys", "create", "soc", "--name", "k4")
    assert over.exit_code == 1 and "3" in over.output  # free tier quota
    listed = json.loads(run("keys", "list", "soc", "--json").stdout)
    assert [k["name"] for k in listed] == ["k0", "k1", "k2"]
    assert all(minted[0]["key"] not in json.dumps(k) for k in listed)  # keys are never listed
    assert run("keys", "revoke", minted[0]["id"], "--reason", "rotated").exit_code == 0
    assert json.loads(run("keys", "list", "soc", "--json").stdout)[0]["revoked_at"]
    assert run("keys", "create", "soc", "--name", "k4").exit_code == 0  # the revoked key freed a slot
    assert run("keys", "revoke", "key_nope").exit_code == 1
    assert run("keys", "create", "nobody", "--name", "k").exit_code == 1


def test_key_expiry_option(cli_env):
    run("accounts", "create", "soc", "--tier", "pro")
    minted = json.loads(
        run("keys", "create", "soc", "--name", "temp", "--expires-in-days", "7", "--json").stdout
    )
    assert minted["expires_at"]
    assert run("keys", "create", "soc", "--name", "bad", "--expires-in-days", "0").exit_code != 0


def test_db_upgrade_and_current(cli_env):
    result = run("db", "upgrade")
    assert result.exit_code == 0 and head_revision() in result.output
    assert f"latest: {head_revision()}" in run("db", "current").output


def test_secret_file_is_private(cli_env, tmp_path):
    run("accounts", "create", "soc", "--tier", "pro")
    run("keys", "create", "soc", "--name", "k")
    secret = tmp_path / "home" / "secret.key"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_extract_prints_one_json_object_per_indicator(tmp_path):
    report = tmp_path / "report.md"
    report.write_text(
        "# APT report\nC2: 194.26.135[.]89, payload hxxps://glasstide-update[.]net/a.bin.\n"
        "Again 194.26.135.89 (T1059.001). See invoice.pdf.\n"
    )
    result = runner.invoke(app, ["extract", str(report)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"type": "ipv4", "value": "194.26.135.89"},
        {"type": "url", "value": "https://glasstide-update.net/a.bin"},
        {"type": "mitre-attack", "value": "T1059.001"},
    ]
    with_context = runner.invoke(app, ["extract", "--with-context"], input="seen at 1.2.3[.]4 today\n")
    record = json.loads(with_context.stdout)
    assert (record["start"], record["end"]) == (8, 17) and "1.2.3[.]4" in record["context"]


def test_import_of_an_advisory_page_extracts_it_as_an_article(cli_env, tmp_path):
    page = tmp_path / "aa26-330a.html"
    page.write_text(
        "<html><head><title>AA26-330A GlassTide</title></head><body><main><p>Actors targeting "
        "water utilities used 194.26.135[.]89 and spearphishing (T1566.001).</p></main></body></html>"
    )
    result = run("import", str(page), "--source", "CISA Alerts", "--category", "government", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["articles"] == 1 and report["new"] == 2
    engine = cli_env.engine()
    with engine.connect() as connection:
        row = connection.execute(select(indicators).where(indicators.c.value == "194.26.135.89")).one()
        title = connection.execute(select(text_column("articles", "title"))).scalar()
    engine.dispose()
    assert "water" in row.industries and "T1566.001" in row.mitre_techniques
    assert title == "AA26-330A GlassTide"


def text_column(table: str, column: str):
    from iocfeed.store.schema import metadata

    return metadata.tables[table].c[column]
