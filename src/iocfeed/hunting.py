"""Hunting queries for one indicator: a Splunk SPL search and a Microsoft Sentinel KQL query.

They name the CIM (Splunk) and Microsoft Defender/Sentinel tables and fields where each kind of
value shows up; analysts paste them as a starting point. Values are escaped for each language's
string literals (SPL: `\\` and `"`; KQL verbatim strings `@"..."`: a `"` doubled).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HuntingQueries:
    splunk_spl: str
    sentinel_kql: str


def _spl(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _kql(value: str) -> str:
    return '@"' + value.replace('"', '""') + '"'


def hunting_queries(indicator_type: str, value: str) -> HuntingQueries:
    s, k = _spl(value), _kql(value)
    if indicator_type in ("ipv4", "ipv6"):
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Network_Traffic "
            f"where (All_Traffic.dest_ip={s} OR All_Traffic.src_ip={s}) by All_Traffic.src_ip All_Traffic.dest_ip",
            f"union isfuzzy=true (DeviceNetworkEvents | where RemoteIP == {k}), "
            f"(CommonSecurityLog | where DestinationIP == {k} or SourceIP == {k})",
        )
    if indicator_type == "domain":
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Network_Resolution "
            f"where DNS.query={s} by DNS.src DNS.query",
            f"union isfuzzy=true (DnsEvents | where Name =~ {k}), (DeviceNetworkEvents | where RemoteUrl has {k})",
        )
    if indicator_type == "url":
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Web where Web.url={s} by Web.src Web.url",
            f"union isfuzzy=true (DeviceNetworkEvents | where RemoteUrl == {k}), (UrlClickEvents | where Url == {k})",
        )
    if indicator_type in ("md5", "sha1", "sha256", "sha512"):
        column = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA256"}[indicator_type]
        kql = (
            f"union isfuzzy=true (DeviceFileEvents | where {column} =~ {k}), "
            f"(DeviceProcessEvents | where {column} =~ {k})"
            if indicator_type != "sha512"
            else f"DeviceFileEvents | where AdditionalFields has {k}"
        )
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Endpoint.Processes "
            f"where Processes.process_hash={s} by Processes.dest Processes.process_name",
            kql,
        )
    if indicator_type == "email":
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Email where All_Email.src_user={s} "
            f"by All_Email.recipient All_Email.subject",
            f"EmailEvents | where SenderFromAddress =~ {k} or SenderMailFromAddress =~ {k}",
        )
    if indicator_type == "cve":
        return HuntingQueries(
            f"| tstats summariesonly=false count from datamodel=Vulnerabilities "
            f"where Vulnerabilities.cve={s} by Vulnerabilities.dest",
            f"DeviceTvmSoftwareVulnerabilities | where CveId == {k} | summarize by DeviceName, SoftwareName",
        )
    return HuntingQueries(  # mitre-attack
        f"index=* (mitre_technique_id={s} OR annotations.mitre_attack.mitre_technique_id={s})",
        f"SecurityAlert | where Techniques has {k} | project TimeGenerated, AlertName, Entities",
    )
