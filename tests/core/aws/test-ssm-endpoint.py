#!/usr/bin/python3
"""The harness's Session Manager endpoint itself (tests/harness/ssm_endpoint.py), driven by a
small client written here from the protocol description (TAP on stdout).

Run under: with-servers --aws --ssm --postgres -- test-ssm-endpoint.py

Checks that the endpoint the C client is tested against is strict and honest:
- StartSession needs a good SigV4 signature; AccessDeniedException names ssm:StartSession and the
  instance, TargetNotConnected for an unregistered instance, "Signature expired" on clock skew;
- a wrong token closes the data channel; the right one gets the handshake request (agent
  version, SessionType Port); the handshake completes and start_publication follows;
- over smux, an SSLRequest reaches the real PostgreSQL and its one-byte answer comes back;
- an old agent carries raw bytes without smux;
- each output fault (drop, duplicate, reorder, corrupt digest) still delivers every message,
  once the endpoint resends, and an unacknowledged input message is counted, not delivered;
- TerminateSession sends channel_closed and closes the WebSocket.
"""

import asyncio
import hashlib
import json
import os
import struct
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "harness"))
import aws_endpoint  # noqa: E402
import websockets  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines():
            print("# " + line)
    sys.stdout.flush()


URL = os.environ["AWS_ENDPOINT_URL_SSM"]
CONTROL = os.environ["BASTION_TEST_SSM_CONTROL_URL"]
PG_PORT = int(os.environ["BASTION_TEST_PG_PORT"])
SSL_REQUEST = struct.pack(">II", 8, 80877103)


def control(path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(CONTROL + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def call(action, body, secret=aws_endpoint.TEST_SECRET_ACCESS_KEY):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=URL + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM." + action})
    SigV4Auth(Credentials(aws_endpoint.TEST_ACCESS_KEY_ID, secret), "ssm",
              "us-west-2").add_auth(req)
    http = urllib.request.Request(URL + "/", data=data, headers=dict(req.headers.items()),
                                  method="POST")
    try:
        with urllib.request.urlopen(http, timeout=10) as reply:
            return 200, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def start(target="i-0bastion000000001"):
    return call("StartSession", {"Target": target,
                                 "DocumentName": "AWS-StartPortForwardingSessionToRemoteHost",
                                 "Parameters": {"host": ["127.0.0.1"],
                                                "portNumber": [str(PG_PORT)]}})


def frame(mtype, seq, ptype, payload):
    u = uuid.uuid4().bytes
    h = struct.pack(">I32sIQqQ", 116, mtype.encode().ljust(32, b" "), 1,
                    int(time.time() * 1000), seq, 0)
    return h + u[8:] + u[:8] + hashlib.sha256(payload).digest() + \
        struct.pack(">II", ptype, len(payload)) + payload


def parse(data):
    mtype = data[4:36].rstrip(b" \0").decode()
    (seq,) = struct.unpack(">q", data[48:56])
    ptype, plen = struct.unpack(">II", data[112:120])
    payload = data[120:]
    ok = hashlib.sha256(payload).digest() == data[80:112] if plen else True
    u = uuid.UUID(bytes=data[72:80] + data[64:72])
    return {"type": mtype, "seq": seq, "ptype": ptype, "payload": payload, "ok": ok, "id": str(u)}


class Client:
    """Just enough of a client: in-order delivery with acks, and a stream of output bytes."""

    def __init__(self, ws):
        self.ws = ws
        self.expected = 0
        self.pending = {}
        self.out_seq = 0
        self.delivered = []
        self.bad_digests = 0
        self.duplicates = 0
        self.controls = []

    async def send(self, ptype, payload):
        await self.ws.send(frame("input_stream_data", self.out_seq, ptype, payload))
        self.out_seq += 1

    async def pump(self, until, timeout=10):
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(self.ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            msg = parse(data)
            if not msg["ok"]:
                self.bad_digests += 1
                continue
            if msg["type"] in ("start_publication", "pause_publication", "channel_closed"):
                self.controls.append(msg)
                continue
            if msg["type"] != "output_stream_data":
                continue
            ack = json.dumps({"AcknowledgedMessageType": msg["type"],
                              "AcknowledgedMessageId": msg["id"],
                              "AcknowledgedMessageSequenceNumber": msg["seq"],
                              "IsSequentialMessage": True}).encode()
            await self.ws.send(frame("acknowledge", 0, 0, ack))
            if msg["seq"] < self.expected:
                self.duplicates += 1
                continue
            self.pending[msg["seq"]] = msg
            while self.expected in self.pending:
                self.delivered.append(self.pending.pop(self.expected))
                self.expected += 1
        return until()

    def stream_bytes(self):
        return b"".join(m["payload"] for m in self.delivered if m["ptype"] == 1)


async def open_channel(reply, token=None):
    ws = await websockets.connect(reply["StreamUrl"], max_size=1 << 20)
    await ws.send(json.dumps({"MessageSchemaVersion": "1.0", "RequestId": str(uuid.uuid4()),
                              "TokenValue": token or reply["TokenValue"],
                              "ClientId": "test", "ClientVersion": "1.0"}))
    return ws, Client(ws)


async def handshake(client):
    got = await client.pump(lambda: len(client.delivered) >= 1)
    request = json.loads(client.delivered[0]["payload"]) if got else {}
    await client.send(6, json.dumps({"ClientVersion": "1.0", "ProcessedClientActions": [],
                                     "Errors": []}).encode())
    await client.pump(lambda: any(c["type"] == "start_publication" for c in client.controls))
    return request


async def ssl_request_roundtrip(client, mux=True):
    base = len(client.stream_bytes())
    if mux:
        await client.send(1, struct.pack("<BBHI", 1, 0, 0, 1))
        await client.send(1, struct.pack("<BBHI", 1, 2, 8, 1) + SSL_REQUEST)
        want = struct.pack("<BBHI", 1, 2, 1, 1) + b"N"
    else:
        await client.send(1, SSL_REQUEST)
        want = b"N"
    await client.pump(lambda: len(client.stream_bytes()) >= base + len(want))
    return client.stream_bytes()[base:base + len(want)] == want


async def fault_case(name, faults, check):
    control("state", {"faults": faults, "agent_version": "3.2.582.0"})
    status, reply = start()
    ws, client = await open_channel(reply)
    await handshake(client)
    # Many answers: one stream per SSLRequest, each "N" in its own output message.
    for sid in range(1, 13, 2):
        await client.send(1, struct.pack("<BBHI", 1, 0, 0, sid))
        await client.send(1, struct.pack("<BBHI", 1, 2, 8, sid) + SSL_REQUEST)
        await client.pump(lambda: False, timeout=0.15)
    await client.pump(lambda: client.stream_bytes().count(b"N") >= 1, timeout=5)
    await client.pump(lambda: False, timeout=1.5)
    record = control("state")["ssm_sessions"][-1]
    tap(check(client, record), "fault %s" % name,
        "delivered seqs %s, bytes %r, record %s" % ([m["seq"] for m in client.delivered],
                                                    client.stream_bytes(), record))
    await ws.close()


async def main():
    print("1..14")
    # API errors.
    status, reply = call("StartSession", {"Target": "i-0bastion000000001"}, secret="wrong")
    tap(status == 400 and reply.get("__type") == "InvalidSignatureException",
        "a bad signature is refused", reply)
    control("state", {"deny": ["StartSession"]})
    status, reply = start()
    tap(status == 400 and reply.get("__type") == "AccessDeniedException"
        and "ssm:StartSession" in reply.get("message", "")
        and "i-0bastion000000001" in reply.get("message", ""),
        "AccessDeniedException names ssm:StartSession and the instance", reply)
    control("state", {"deny": [], "registered": ["i-0other"]})
    status, reply = start()
    tap(status == 400 and reply.get("__type") == "TargetNotConnected",
        "an unregistered instance is TargetNotConnected", reply)
    control("state", {"registered": None, "clock_skew_s": 3600})
    status, reply = start()
    tap(status == 400 and "Signature expired" in reply.get("message", ""),
        "clock skew: Signature expired", reply)
    control("state", {"clock_skew_s": 0})

    # A wrong token.
    status, reply = start()
    ws, client = await open_channel(reply, token="not-the-token")
    try:
        await asyncio.wait_for(ws.recv(), 5)
        closed = False
    except websockets.ConnectionClosed:
        closed = True
    tap(closed, "a wrong token closes the data channel")

    # Handshake and smux forwarding to PostgreSQL.
    status, reply = start()
    ws, client = await open_channel(reply)
    request = await handshake(client)
    action = (request.get("RequestedClientActions") or [{}])[0]
    tap(request.get("AgentVersion") == "3.2.582.0" and
        action.get("ActionParameters", {}).get("SessionType") == "Port",
        "handshake request: agent version and SessionType Port", request)
    tap(await ssl_request_roundtrip(client), "smux: PostgreSQL answers an SSLRequest",
        client.stream_bytes())
    status, _ = call("TerminateSession", {"SessionId": reply["SessionId"]})
    await client.pump(lambda: any(c["type"] == "channel_closed" for c in client.controls), 5)
    record = control("state")["ssm_sessions"][-1]
    tap(status == 200 and record["closed_by"] == "TerminateSession" and
        any(c["type"] == "channel_closed" for c in client.controls),
        "TerminateSession sends channel_closed", record)

    # An old agent: raw bytes.
    control("state", {"agent_version": "3.0.100.0"})
    status, reply = start()
    ws, client = await open_channel(reply)
    await handshake(client)
    tap(await ssl_request_roundtrip(client, mux=False), "old agent: raw bytes without smux",
        client.stream_bytes())
    await ws.close()

    # Faults: every answer still arrives exactly once, in order.
    def all_six(client, record):
        return client.stream_bytes().count(b"N") == 6

    await fault_case("drop", {"drop": [2]},
                     lambda c, r: all_six(c, r) and r.get("resends", 0) >= 1)
    await fault_case("duplicate", {"duplicate": [2]},
                     lambda c, r: all_six(c, r) and c.duplicates >= 1)
    await fault_case("reorder", {"reorder": [2]},
                     lambda c, r: all_six(c, r) and r.get("faults_reordered") == 1)
    await fault_case("corrupt", {"corrupt": [3]},
                     lambda c, r: all_six(c, r) and c.bad_digests == 1)
    await fault_case("drop_in", {"drop_in": [3]},
                     lambda c, r: c.stream_bytes().count(b"N") == 1 and
                     r.get("faults_dropped_in") == 1)

    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
