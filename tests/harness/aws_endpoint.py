#!/usr/bin/python3
"""A local stand-in for the AWS APIs Bastion calls, that verifies every request's SigV4 signature.

    aws_endpoint.py --port N [--region us-west-2]

Listens on 127.0.0.1:N and answers, in the reply shapes AWS uses:
  - Secrets Manager GetSecretValue (POST /, X-Amz-Target: secretsmanager.GetSecretValue, JSON 1.1)
  - EC2 query API as form-encoded POST bodies (Action=...&Version=2016-11-15):
    DescribeSecurityGroups, AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress,
    DescribeInstances, StartInstances, StopInstances
  - GET /checkip: the caller's "public IP" plus a newline, like https://checkip.amazonaws.com

Every AWS request's Authorization header is recomputed with botocore's SigV4Auth from the same
method, URL, signed headers, body and X-Amz-Date, with the test credentials this endpoint knows. A
mismatch is answered as AWS does (403 SignatureDoesNotMatch / InvalidSignatureException) and
recorded in the state's "signature_failures", which the tests assert on.

Control API (no signature): GET /_control/state returns the whole state as JSON (requests log,
signature_failures, secrets, security groups, instances, ip, deny, expired); POST /_control/state merges a
JSON object into the state (top-level keys replaced; "delay_ms" delays every AWS reply); POST
/_control/reset-log clears the request log and the signature failures; POST /_control/reset restores
the starting state but keeps the secrets.

Canned replies (the bad-input tests): state key "canned" maps an action ("GetSecretValue",
"DescribeInstances", ...) to {"status": 200, "body": "...", "content_type": "text/html",
"size": N, "length": true}. Once the request's signature is verified, the endpoint answers that
action with body (repeated up to size bytes when size is given) instead of the real reply;
"length": false sends no Content-Length and closes the connection after the body.

Throttling (the retry tests): state key "throttle" maps an action to a list of kinds, one used
up per request of that action (after its signature is verified): "RequestLimitExceeded" (EC2's
503 XML), "ThrottlingException" (the JSON protocol's 400), "429" or "503" (a plain HTTP status
with a text body, as a load balancer answers).

An instance whose "dns" is "" has no public DNS name or address even when running (a bastion in
a private subnet); every instance reports "private_ip" (default 10.0.0.5).

Runs with Debian's /usr/bin/python3, which has python3-botocore.
"""

import argparse
import datetime
import hmac
import json
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
ACCOUNT = "123456789012"

# The credentials this endpoint knows: access key id -> (secret key, session token or None).
TEST_ACCESS_KEY_ID = "AKIABASTIONTEST00001"
TEST_SECRET_ACCESS_KEY = "bastion/test+secret/KEY0000000000000000001"
TEST_SESSION_ACCESS_KEY_ID = "ASIABASTIONTEST00002"
TEST_SESSION_SECRET_ACCESS_KEY = "bastion/session+secret/KEY00000000000002"
TEST_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEBastionTestSessionToken//+==0002"

STATE_NAMES = {0: "pending", 16: "running", 32: "shutting-down", 48: "terminated", 64: "stopping",
               80: "stopped"}
STATE_CODES = {v: k for k, v in STATE_NAMES.items()}


def default_state(region):
    return {
        "region": region,
        "ip": "198.51.100.7",
        "credentials": {
            TEST_ACCESS_KEY_ID: [TEST_SECRET_ACCESS_KEY, None],
            TEST_SESSION_ACCESS_KEY_ID: [TEST_SESSION_SECRET_ACCESS_KEY, TEST_SESSION_TOKEN],
        },
        # Access keys whose session has expired (ExpiredToken for every call).
        "expired": [],
        # Actions (e.g. "GetSecretValue", "AuthorizeSecurityGroupIngress") denied to the caller.
        "deny": [],
        "secrets": {
            "SimpleIOT-db-password": json.dumps({
                "username": "dbadmin",
                "password": "s3cret-from-secrets-manager",
                "engine": "postgres",
                "host": "iot-dev-db.cluster-abc.us-west-2.rds.amazonaws.com",
                "port": 5432,
                "dbname": "simpleiot",
                "dbInstanceIdentifier": "iot-dev-db",
            }),
        },
        "security_groups": [{
            "group_id": "sg-0bastion0000000001",
            "group_name": "iot_dev_bastion_ssh_sg",
            "description": "Bastion SSH access",
            "vpc_id": "vpc-0bastion000000001",
            "rules": [{"protocol": "tcp", "from_port": 22, "to_port": 22,
                       "cidr": "203.0.113.45/32", "description": "Incoming SSH"}],
        }],
        "instances": [{
            "instance_id": "i-0bastion000000001",
            "name": "iot_dev_db_bastion_host",
            "state": "running",
            "dns": "ec2-203-0-113-10.us-west-2.compute.amazonaws.com",
            "ip": "203.0.113.10",
            # After a start, the public DNS name it gets (no Elastic IP: it changes).
            "next_dns": "ec2-203-0-113-99.us-west-2.compute.amazonaws.com",
            "next_ip": "203.0.113.99",
            # How many DescribeInstances calls a pending/stopping instance stays in that state.
            "transition_polls": 2,
            "polls_left": 0,
        }],
        "requests": [],
        "signature_failures": [],
    }


class Endpoint:
    def __init__(self, region):
        self.lock = threading.Lock()
        self.state = default_state(region)


class AwsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_authorization(value):
    m = re.match(r"^AWS4-HMAC-SHA256 (.*)$", value or "")
    if not m:
        return None
    parts = {}
    for item in m.group(1).split(","):
        item = item.strip()
        if "=" in item:
            k, v = item.split("=", 1)
            parts[k.strip()] = v.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= set(parts):
        return None
    cred = parts["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return None
    return {
        "access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
        "signed_headers": parts["SignedHeaders"].split(";"), "signature": parts["Signature"],
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2-fake"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    @property
    def ep(self):
        return self.server.endpoint

    def _send(self, status, body, content_type):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # --- control and checkip -------------------------------------------------------------------

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/checkip":
            with self.ep.lock:
                ip = self.ep.state["ip"]
            self._send(200, ip + "\n", "text/plain;charset=UTF-8")
        elif path == "/_control/state":
            with self.ep.lock:
                body = json.dumps(self.ep.state, indent=1)
            self._send(200, body, "application/json")
        else:
            self._send(404, "not found\n", "text/plain")

    def do_POST(self):
        body = self._read_body()
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_control/state":
            try:
                update = json.loads(body or b"{}")
            except ValueError as e:
                self._send(400, "bad JSON: %s\n" % e, "text/plain")
                return
            with self.ep.lock:
                self.ep.state.update(update)
            self._send(200, "{}", "application/json")
        elif path == "/_control/reset":
            # Back to the starting state, keeping the secrets (the harness may have set them).
            with self.ep.lock:
                secrets = self.ep.state["secrets"]
                self.ep.state = default_state(self.ep.state["region"])
                self.ep.state["secrets"] = secrets
            self._send(200, "{}", "application/json")
        elif path == "/_control/reset-log":
            with self.ep.lock:
                self.ep.state["requests"] = []
                self.ep.state["signature_failures"] = []
            self._send(200, "{}", "application/json")
        elif path == "/":
            self._aws(body)
        else:
            self._send(404, "not found\n", "text/plain")

    # --- AWS -----------------------------------------------------------------------------------

    def _aws(self, body):
        target = self.headers.get("X-Amz-Target")
        if target:
            service = "secretsmanager"
            action = target.split(".", 1)[-1]
            params = None
        else:
            service = "ec2"
            params = dict(urllib.parse.parse_qsl(body.decode(errors="replace"),
                                                 keep_blank_values=True))
            action = params.get("Action", "")
        entry = {"service": service, "action": action, "status": None, "error": None,
                 "params": params}
        with self.ep.lock:
            delay = self.ep.state.get("delay_ms", 0)
            self.ep.state["requests"].append(entry)
        if delay:
            time.sleep(delay / 1000.0)
        canned = None
        try:
            with self.ep.lock:
                self._authenticate(service, action, body, entry)
                canned = self.ep.state.get("canned", {}).get(action)
                throttles = self.ep.state.get("throttle", {}).get(action)
                if throttles:
                    canned = self._throttle(service, throttles.pop(0))
                    entry["throttled"] = True
                if canned is not None:
                    status, reply, ctype = canned.get("status", 200), None, None
                    entry["canned"] = True
                elif service == "secretsmanager":
                    status, reply = self._secretsmanager(action, body)
                    ctype = "application/x-amz-json-1.1"
                else:
                    status, reply = self._ec2(action, params)
                    ctype = "text/xml;charset=UTF-8"
                entry["status"] = status
        except AwsError as e:
            entry["status"] = e.status
            entry["error"] = e.code
            if service == "secretsmanager":
                status, reply = e.status, json.dumps({"__type": e.code, "Message": e.message})
                ctype = "application/x-amz-json-1.1"
            else:
                status, reply = e.status, (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                    "<Code>%s</Code><Message>%s</Message></Error></Errors>"
                    "<RequestID>%s</RequestID></Response>"
                    % (escape(e.code), escape(e.message), uuid.uuid4()))
                ctype = "text/xml;charset=UTF-8"
        if canned is not None:
            self._send_canned(canned)
            return
        self._send(status, reply, ctype)

    @staticmethod
    def _throttle(service, kind):
        if kind == "RequestLimitExceeded":
            return {"status": 503, "content_type": "text/xml;charset=UTF-8",
                    "body": '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                            "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                            "</Message></Error></Errors><RequestID>%s</RequestID></Response>"
                            % uuid.uuid4()}
        if kind == "ThrottlingException":
            return {"status": 400, "content_type": "application/x-amz-json-1.1",
                    "body": json.dumps({"__type": "ThrottlingException",
                                        "message": "Rate exceeded"})}
        return {"status": int(kind), "content_type": "text/plain", "body": "Slow down\n"}

    def _send_canned(self, canned):
        body = canned.get("body", "")
        body = body.encode() if isinstance(body, str) else body
        size = canned.get("size")
        self.send_response(canned.get("status", 200))
        self.send_header("Content-Type", canned.get("content_type", "text/plain"))
        if size is not None:
            if not body:
                body = b" "
        else:
            size = len(body)
        if canned.get("length", True):
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        # Written in pieces: a client that gives up early must not cost 20 MiB of memory here.
        sent = 0
        try:
            while sent < size:
                piece = body * max(1, 65536 // len(body)) if body else b""
                piece = piece[:size - sent]
                if not piece:
                    break
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _sig_error(self, service, reason, entry):
        self.ep.state["signature_failures"].append({"action": entry["action"], "reason": reason})
        if service == "secretsmanager":
            return AwsError(400, "InvalidSignatureException",
                            "The request signature we calculated does not match the signature you "
                            "provided. Check your AWS Secret Access Key and signing method. "
                            "(%s)" % reason)
        return AwsError(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your AWS Secret Access Key and signing method. (%s)"
                        % reason)

    def _authenticate(self, service, action, body, entry):
        state = self.ep.state
        auth = parse_authorization(self.headers.get("Authorization"))
        if auth is None:
            raise self._sig_error(service, "missing or malformed Authorization header", entry)
        entry["access_key"] = auth["access_key"]
        creds = state["credentials"].get(auth["access_key"])
        if creds is None:
            if service == "secretsmanager":
                raise AwsError(400, "UnrecognizedClientException",
                               "The security token included in the request is invalid.")
            raise AwsError(401, "AuthFailure",
                           "AWS was not able to validate the provided access credentials")
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            raise self._sig_error(service, "missing or malformed X-Amz-Date", entry)
        now = datetime.datetime.utcnow()
        if abs((now - when).total_seconds()) > 15 * 60:
            raise self._sig_error(service, "X-Amz-Date too far from now", entry)
        if auth["date"] != amz_date[:8]:
            raise self._sig_error(service, "credential scope date is not X-Amz-Date's", entry)
        if auth["service"] != service:
            raise self._sig_error(service, "credential scope service %r, expected %r"
                                  % (auth["service"], service), entry)
        if auth["region"] != state["region"]:
            raise self._sig_error(service, "credential scope region %r, expected %r"
                                  % (auth["region"], state["region"]), entry)
        signed = auth["signed_headers"]
        required = ["host", "x-amz-date"]
        for name in self.headers.keys():
            lname = name.lower()
            if lname.startswith("x-amz-"):
                required.append(lname)
        missing = [h for h in required if h not in signed]
        if missing:
            raise self._sig_error(service, "headers not signed: %s" % ", ".join(missing), entry)

        secret, token = creds
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            if self.headers.get("X-Amz-Security-Token") is None:
                raise AwsError(403 if service == "ec2" else 400,
                               "AuthFailure" if service == "ec2" else "UnrecognizedClientException",
                               "The security token included in the request is invalid.")
            raise AwsError(403 if service == "ec2" else 400,
                           "InvalidClientTokenId" if service == "ec2" else
                           "UnrecognizedClientException",
                           "The security token included in the request is invalid.")

        # Recompute the signature with botocore from what we received.
        host = self.headers.get("Host")
        url = "http://%s%s" % (host, self.path)
        headers = {}
        for name in signed:
            value = self.headers.get(name)
            if value is None:
                raise self._sig_error(service, "signed header %r is absent" % name, entry)
            headers[name] = value
        request = AWSRequest(method=self.command, url=url, data=body, headers=headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(auth["access_key"], secret, token), service,
                           state["region"])
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected, auth["signature"]):
            raise self._sig_error(service, "signature mismatch; canonical request was:\n"
                                  + canonical, entry)
        entry["signature_ok"] = True

        if auth["access_key"] in state["expired"]:
            raise AwsError(400 if service == "ec2" else 400,
                           "ExpiredToken" if service == "ec2" else "ExpiredTokenException",
                           "The security token included in the request is expired")
        if action in state["deny"]:
            user = "arn:aws:iam::%s:user/bastion-test" % ACCOUNT
            if service == "secretsmanager":
                raise AwsError(400, "AccessDeniedException",
                               "User: %s is not authorized to perform: secretsmanager:%s on "
                               "resource: SimpleIOT-db-password because no identity-based policy "
                               "allows the secretsmanager:%s action" % (user, action, action))
            raise AwsError(403, "UnauthorizedOperation",
                           "You are not authorized to perform this operation. User: %s is not "
                           "authorized to perform: ec2:%s because no identity-based policy allows "
                           "the ec2:%s action." % (user, action, action))

    def _secretsmanager(self, action, body):
        if action != "GetSecretValue":
            raise AwsError(400, "UnknownOperationException", "Unknown operation %s" % action)
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            raise AwsError(400, "SerializationException", "Bad Content-Type")
        try:
            req = json.loads(body)
        except ValueError:
            raise AwsError(400, "SerializationException", "Start of structure or map found where"
                           " not expected.")
        secret_id = req.get("SecretId")
        value = self.ep.state["secrets"].get(secret_id)
        if value is None:
            raise AwsError(400, "ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret.")
        region = self.ep.state["region"]
        return 200, json.dumps({
            "ARN": "arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf" % (region, ACCOUNT, secret_id),
            "Name": secret_id,
            "VersionId": str(uuid.uuid4()),
            "SecretString": value,
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": 1.764e9,
        })

    # EC2 ---------------------------------------------------------------------------------------

    def _xml(self, action, inner):
        return 200, ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">\n'
                     "    <requestId>%s</requestId>\n%s</%sResponse>"
                     % (action, EC2_NS, uuid.uuid4(), inner, action))

    @staticmethod
    def _filters(params):
        filters = {}
        i = 1
        while "Filter.%d.Name" % i in params:
            values = []
            j = 1
            while "Filter.%d.Value.%d" % (i, j) in params:
                values.append(params["Filter.%d.Value.%d" % (i, j)])
                j += 1
            filters[params["Filter.%d.Name" % i]] = values
            i += 1
        return filters

    def _ec2(self, action, params):
        if params.get("Version") != "2016-11-15":
            raise AwsError(400, "InvalidParameterValue", "Missing or unknown Version")
        handler = getattr(self, "_ec2_" + action, None)
        if handler is None:
            raise AwsError(400, "InvalidAction", "The action %s is not valid for this web service."
                           % action)
        return handler(params)

    def _find_group(self, params):
        gid = params.get("GroupId")
        for g in self.ep.state["security_groups"]:
            if g["group_id"] == gid:
                return g
        raise AwsError(400, "InvalidGroup.NotFound",
                       "The security group '%s' does not exist" % gid)

    @staticmethod
    def _permission(params):
        p = "IpPermissions.1."
        try:
            rule = {"protocol": params[p + "IpProtocol"], "from_port": int(params[p + "FromPort"]),
                    "to_port": int(params[p + "ToPort"]),
                    "cidr": params[p + "IpRanges.1.CidrIp"],
                    "description": params.get(p + "IpRanges.1.Description", "")}
        except (KeyError, ValueError):
            raise AwsError(400, "MissingParameter", "The request must contain the parameter "
                           "IpPermissions")
        if not re.match(r"^\d+\.\d+\.\d+\.\d+/\d+$", rule["cidr"]):
            raise AwsError(400, "InvalidParameterValue", "CIDR block %s is malformed"
                           % rule["cidr"])
        if not re.match(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*$", rule["description"]):
            raise AwsError(400, "InvalidParameterValue", "Invalid rule description. Valid "
                           "descriptions are strings less than 256 characters from the following "
                           "set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
        return rule

    @staticmethod
    def _same_rule(a, b):
        return (a["protocol"], a["from_port"], a["to_port"], a["cidr"]) == \
            (b["protocol"], b["from_port"], b["to_port"], b["cidr"])

    def _ec2_DescribeSecurityGroups(self, params):
        filters = self._filters(params)
        names = filters.get("group-name")
        items = []
        for g in self.ep.state["security_groups"]:
            if names is not None and g["group_name"] not in names:
                continue
            perms = []
            for r in g["rules"]:
                perms.append(
                    "                    <item>\n"
                    "                        <ipProtocol>%s</ipProtocol>\n"
                    "                        <fromPort>%d</fromPort>\n"
                    "                        <toPort>%d</toPort>\n"
                    "                        <groups/>\n"
                    "                        <ipRanges>\n"
                    "                            <item>\n"
                    "                                <cidrIp>%s</cidrIp>\n"
                    "                                <description>%s</description>\n"
                    "                            </item>\n"
                    "                        </ipRanges>\n"
                    "                        <ipv6Ranges/>\n"
                    "                        <prefixListIds/>\n"
                    "                    </item>\n"
                    % (escape(r["protocol"]), r["from_port"], r["to_port"], escape(r["cidr"]),
                       escape(r["description"])))
            items.append(
                "        <item>\n"
                "            <ownerId>%s</ownerId>\n"
                "            <groupId>%s</groupId>\n"
                "            <groupName>%s</groupName>\n"
                "            <groupDescription>%s</groupDescription>\n"
                "            <vpcId>%s</vpcId>\n"
                "            <ipPermissions>\n%s            </ipPermissions>\n"
                "            <ipPermissionsEgress>\n"
                "                <item>\n"
                "                    <ipProtocol>-1</ipProtocol>\n"
                "                    <groups/>\n"
                "                    <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>\n"
                "                    <ipv6Ranges/>\n"
                "                    <prefixListIds/>\n"
                "                </item>\n"
                "            </ipPermissionsEgress>\n"
                "            <tagSet><item><key>Name</key><value>%s</value></item></tagSet>\n"
                "        </item>\n"
                % (ACCOUNT, escape(g["group_id"]), escape(g["group_name"]),
                   escape(g["description"]), escape(g["vpc_id"]), "".join(perms),
                   escape(g["group_name"])))
        return self._xml("DescribeSecurityGroups",
                         "    <securityGroupInfo>\n%s    </securityGroupInfo>\n" % "".join(items))

    def _ec2_AuthorizeSecurityGroupIngress(self, params):
        group = self._find_group(params)
        rule = self._permission(params)
        for r in group["rules"]:
            if self._same_rule(r, rule):
                raise AwsError(400, "InvalidPermission.Duplicate",
                               "the specified rule \"peer: %s, TCP, from port: %d, to port: %d, "
                               "ALLOW\" already exists" % (rule["cidr"], rule["from_port"],
                                                          rule["to_port"]))
        group["rules"].append(rule)
        return self._xml("AuthorizeSecurityGroupIngress",
                         "    <return>true</return>\n    <securityGroupRuleSet>\n"
                         "        <item><securityGroupRuleId>sgr-%s</securityGroupRuleId>"
                         "<groupId>%s</groupId><isEgress>false</isEgress>"
                         "<ipProtocol>%s</ipProtocol><fromPort>%d</fromPort><toPort>%d</toPort>"
                         "<cidrIpv4>%s</cidrIpv4></item>\n    </securityGroupRuleSet>\n"
                         % (uuid.uuid4().hex[:17], escape(group["group_id"]),
                            escape(rule["protocol"]), rule["from_port"], rule["to_port"],
                            escape(rule["cidr"])))

    def _ec2_RevokeSecurityGroupIngress(self, params):
        group = self._find_group(params)
        rule = self._permission(params)
        for r in group["rules"]:
            if self._same_rule(r, rule):
                group["rules"].remove(r)
                return self._xml("RevokeSecurityGroupIngress", "    <return>true</return>\n")
        raise AwsError(400, "InvalidPermission.NotFound",
                       "The specified rule does not exist in this security group.")

    def _instance_xml(self, inst):
        state = inst["state"]
        public = ""
        if state == "running" and inst["dns"]:
            public = ("                    <dnsName>%s</dnsName>\n"
                      "                    <ipAddress>%s</ipAddress>\n"
                      % (escape(inst["dns"]), escape(inst["ip"])))
        else:
            public = "                    <dnsName/>\n"
        return ("                <item>\n"
                "                    <instanceId>%s</instanceId>\n"
                "                    <imageId>ami-0bastion00000001</imageId>\n"
                "                    <instanceState>\n"
                "                        <code>%d</code>\n"
                "                        <name>%s</name>\n"
                "                    </instanceState>\n"
                "                    <privateDnsName>ip-%s.%s.compute.internal"
                "</privateDnsName>\n"
                "                    <privateIpAddress>%s</privateIpAddress>\n%s"
                "                    <reason/>\n"
                "                    <instanceType>t3.nano</instanceType>\n"
                "                    <groupSet><item><groupId>sg-0bastion0000000001</groupId>"
                "<groupName>iot_dev_bastion_ssh_sg</groupName></item></groupSet>\n"
                "                    <tagSet>\n"
                "                        <item><key>Name</key><value>%s</value></item>\n"
                "                    </tagSet>\n"
                "                </item>\n"
                % (escape(inst["instance_id"]), STATE_CODES[state], state,
                   inst.get("private_ip", "10.0.0.5").replace(".", "-"),
                   self.ep.state["region"], escape(inst.get("private_ip", "10.0.0.5")), public,
                   escape(inst["name"])))

    def _advance(self, inst):
        """Pending/stopping instances settle after a few DescribeInstances polls."""
        if inst["state"] not in ("pending", "stopping"):
            return
        if inst["polls_left"] > 0:
            inst["polls_left"] -= 1
            return
        if inst["state"] == "pending":
            inst["state"] = "running"
            inst["dns"], inst["ip"] = inst["next_dns"], inst["next_ip"]
        else:
            inst["state"] = "stopped"

    def _ec2_DescribeInstances(self, params):
        filters = self._filters(params)
        names = filters.get("tag:Name")
        reservations = []
        for inst in self.ep.state["instances"]:
            if names is not None and inst["name"] not in names:
                continue
            self._advance(inst)
            reservations.append(
                "        <item>\n"
                "            <reservationId>r-%s</reservationId>\n"
                "            <ownerId>%s</ownerId>\n"
                "            <groupSet/>\n"
                "            <instancesSet>\n%s            </instancesSet>\n"
                "        </item>\n" % (inst["instance_id"][2:], ACCOUNT, self._instance_xml(inst)))
        return self._xml("DescribeInstances",
                         "    <reservationSet>\n%s    </reservationSet>\n" % "".join(reservations))

    def _change_state(self, action, params, allowed_from, to, settle):
        iid = params.get("InstanceId.1")
        for inst in self.ep.state["instances"]:
            if inst["instance_id"] == iid:
                break
        else:
            raise AwsError(400, "InvalidInstanceID.NotFound",
                           "The instance ID '%s' does not exist" % iid)
        previous = inst["state"]
        if previous in allowed_from:
            inst["state"] = to
            inst["polls_left"] = inst["transition_polls"]
        elif previous not in (to, settle):
            raise AwsError(400, "IncorrectInstanceState",
                           "The instance '%s' is not in a state from which it can be %s."
                           % (iid, "started" if to == "pending" else "stopped"))
        return self._xml(action,
                         "    <instancesSet>\n        <item>\n"
                         "            <instanceId>%s</instanceId>\n"
                         "            <currentState><code>%d</code><name>%s</name></currentState>\n"
                         "            <previousState><code>%d</code><name>%s</name>"
                         "</previousState>\n        </item>\n    </instancesSet>\n"
                         % (escape(iid), STATE_CODES[inst["state"]], inst["state"],
                            STATE_CODES[previous], previous))

    def _ec2_StartInstances(self, params):
        return self._change_state("StartInstances", params, ("stopped",), "pending", "running")

    def _ec2_StopInstances(self, params):
        return self._change_state("StopInstances", params, ("running", "pending"), "stopping",
                                  "stopped")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="us-west-2")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.endpoint = Endpoint(args.region)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
