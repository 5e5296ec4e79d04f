"""STS GetCallerIdentity (query protocol, XML): the account the emulator sees for an access key;
other STS actions answer 501, unknown ones InvalidAction — always in STS's XML error format.

DESIGN.md "Identity": a 12-digit access key *is* the account id; any other key is the default
account.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from helpers import A, B, DEFAULT_ACCOUNT, raw_request


@pytest.mark.parametrize("account", [A, B])
def test_get_caller_identity_names_the_account_of_the_key(client, account):
    response = client("sts", account=account).get_caller_identity()
    assert response["Account"] == account
    assert response["Arn"] == f"arn:aws:iam::{account}:user/{account}"
    assert response["UserId"] == account
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"]


def test_two_accounts_see_different_identities(client):
    a = client("sts", account=A).get_caller_identity()
    b = client("sts", account=B).get_caller_identity()
    assert (a["Account"], b["Account"]) == (A, B)
    assert a["Arn"] != b["Arn"]


def test_non_numeric_key_is_the_default_account(client):
    response = client("sts", access_key="AKIAEMULATOREXAMPLE").get_caller_identity()
    assert response["Account"] == DEFAULT_ACCOUNT
    assert response["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/AKIAEMULATOREXAMPLE"
    assert response["UserId"] == "AKIAEMULATOREXAMPLE"


def test_region_does_not_change_the_identity(client):
    assert client("sts", account=A, region="eu-west-1").get_caller_identity()["Account"] == A


def test_raw_response_is_sts_xml(emulator):
    response = raw_request(
        emulator.url, "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
        account=A, service="sts", headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.status == 200
    assert response.header("Content-Type").startswith("text/xml")
    body = response.body.decode()
    request_id = response.header("x-amzn-RequestId")
    assert body == (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:iam::{A}:user/{A}</Arn><UserId>{A}</UserId><Account>{A}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )


def test_other_sts_actions_are_501_in_sts_error_format(client):
    sts = client("sts", account=A)
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/r", RoleSessionName="session")
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "AssumeRole" in response["Error"]["Message"]
    assert response["Error"]["Code"] == "NotImplementedException"


def sts_raw(emulator, body: str):
    return raw_request(
        emulator.url, "POST", "/", body, account=A, service="sts",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


def assert_xml_error(response, status: int, code: str) -> str:
    assert response.status == status
    body = response.body.decode()
    assert re.search(rf"<ErrorResponse[^>]*><Error><Type>Sender</Type><Code>{code}</Code><Message>[^<]+</Message></Error>"
                     r"<RequestId>[^<]+</RequestId></ErrorResponse>", body), body
    return body


def test_unknown_action_is_invalid_action(emulator):
    body = assert_xml_error(sts_raw(emulator, "Action=FlyToTheMoon&Version=2011-06-15"), 400, "InvalidAction")
    assert "FlyToTheMoon" in body


def test_unknown_version_is_invalid_action(emulator):
    body = assert_xml_error(sts_raw(emulator, "Action=GetCallerIdentity&Version=2099-01-01"), 400, "InvalidAction")
    assert "2099-01-01" in body


def test_missing_action_is_missing_action(emulator):
    assert_xml_error(sts_raw(emulator, "Version=2011-06-15"), 400, "MissingAction")
