#!/usr/bin/python3
"""A local stand-in for AWS Systems Manager Session Manager: the SSM API and the agent's side of
the data channel (issue 21).

    ssm_endpoint.py --port N [--region us-west-2]

Listens on 127.0.0.1:N (HTTP, the JSON protocol) and on 127.0.0.1:N+? (a free port, printed in
the state as "stream_port") for the WebSocket data channels.

  - AmazonSSM.StartSession (document AWS-StartPortForwardingSessionToRemoteHost, parameters
    host and portNumber) answers SessionId, StreamUrl (ws://127.0.0.1:P/v1/data-channel/ID?...)
    and TokenValue; AmazonSSM.TerminateSession ends the session (channel_closed, then close).
    Every request's SigV4 signature is verified by aws_endpoint.Handler._authenticate (botocore),
    with service "ssm".
  - The data channel speaks what the SSM agent speaks: it waits for OpenDataChannelInput with
    the session's token, sends the handshake request (agent version, SessionType Port), acks
    every input_stream_data, delivers them in sequence order (buffering gaps, ignoring
    duplicates), resends its own unacknowledged output_stream_data after a timeout, and sends
    start_publication/pause_publication and channel_closed.
  - Port forwarding: with a multiplexing agent (version > 3.0.196.0) the byte stream carries
    smux v1 frames; every SYN opens a TCP connection to host:portNumber (the harness's real
    PostgreSQL), PSH/FIN flow both ways. An old agent ("agent_version": "3.0.100.0") carries one
    raw TCP connection; the client's DisconnectToPort flag closes it.

Control API (no signature), as aws_endpoint.py: GET /_control/state, POST /_control/state
(merge), POST /_control/reset. State keys that steer the next sessions:

  "agent_version"        "3.2.582.0" (multiplexing) or an old one such as "3.0.100.0"
  "registered"           null (every i-* target is connected) or a list of instance ids
  "deny"                 ["StartSession"]: AccessDeniedException naming ssm:StartSession
  "clock_skew_s"         the endpoint's clock is this far off: requests signed outside 5 min
                         are refused (InvalidSignatureException "Signature expired")
  "faults"               applied to each new session; every number counts that session's
                         output_stream_data data messages (after the handshake), from 1:
                         {"drop": [n], "duplicate": [n], "reorder": [n] (swaps n and n+1),
                          "corrupt": [n] (bad digest), "drop_in": [n] (the n-th input data
                          message is ignored, unacked), "close_after": n (the WebSocket is
                          closed abruptly after n), "closed_after": n (channel_closed "idle
                          timeout" then close), "pause_ms": N (pause_publication after the
                          handshake, start_publication N ms later)}
  "resume"               true: a session whose WebSocket dropped (not one the service or the
                         client ended) may be resumed for 60 s: AmazonSSM.ResumeSession answers
                         a new TokenValue and StreamUrl, and the agent keeps its TCP connections,
                         sequence numbers and unacknowledged messages for the new data channel
                         (no second handshake). false (the default): ResumeSession is refused
                         (InvalidOperationRequest) and the session is over.

The state's "ssm_sessions" lists every session: id, target, host, port, agent_version, mux,
streams, bytes_in/out, resends, acks, duplicates_in, out_of_order_in, paused_violations,
closed_by, data_channels (WebSocket opens), resumes, bad_frames.

Runs with Debian's /usr/bin/python3 (python3-botocore, python3-websockets).
"""

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import secrets
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_endpoint  # noqa: E402  (SigV4 verification and the test credentials)
from aws_endpoint import ACCOUNT, AwsError  # noqa: E402

import websockets  # noqa: E402

MUX_AGENT = "3.2.582.0"
OLD_AGENT = "3.0.100.0"
RESEND_AFTER = 0.4        # seconds an output message waits for its ack
MAX_UNACKED = 400         # output messages in flight before TCP reads pause (backpressure)
CHUNK = 4096              # bytes of the agent's stream per output message
SMUX_SYN, SMUX_FIN, SMUX_PSH, SMUX_NOP = 0, 1, 2, 3
PAYLOAD_OUTPUT, PAYLOAD_HS_REQ, PAYLOAD_HS_RESP, PAYLOAD_HS_DONE, PAYLOAD_FLAG = 1, 5, 6, 7, 10


def default_ssm_state(region):
    state = aws_endpoint.default_state(region)
    state.update({"agent_version": MUX_AGENT, "registered": None, "clock_skew_s": 0,
                  "faults": {}, "resume": False, "ssm_sessions": []})
    return state


# --- the ClientMessage frame --------------------------------------------------------------------

def encode(mtype, seq, ptype, payload, flags=0, msg_id=None):
    u = (msg_id or uuid.uuid4()).bytes
    header = struct.pack(">I32sIQqQ", 116, mtype.encode().ljust(32, b" "), 1,
                         int(time.time() * 1000), seq, flags)
    header += u[8:] + u[:8] + hashlib.sha256(payload).digest()
    header += struct.pack(">II", ptype, len(payload))
    return header + payload


def decode(data):
    if len(data) < 120:
        raise ValueError("short frame")
    hl, mtype, _ver, _created, seq, _flags = struct.unpack(">I32sIQqQ", data[:64])
    low, high = data[64:72], data[72:80]
    digest = data[80:112]
    ptype, plen = struct.unpack(">II", data[112:120])
    payload = data[120:]
    if hl != 116 or plen != len(payload):
        raise ValueError("bad lengths")
    if plen and hashlib.sha256(payload).digest() != digest:
        raise ValueError("bad digest")
    return {"type": mtype.rstrip(b" \0").decode(), "seq": seq, "ptype": ptype,
            "id": str(uuid.UUID(bytes=high + low)), "payload": payload}


def smux_frame(cmd, sid, data=b""):
    return struct.pack("<BBHI", 1, cmd, len(data), sid) + data


# --- one session -------------------------------------------------------------------------------

class Session:
    def __init__(self, ep, record, token, faults):
        self.ep = ep
        self.record = record          # the dict in state["ssm_sessions"] (JSON)
        self.token = token
        self.faults = faults
        self.ws = None
        self.out_seq = 0
        self.unacked = {}             # seq -> [frame, sent_at]
        self.data_out = 0             # output data messages sent (fault counter)
        self.data_in = 0
        self.expected_in = 0
        self.pending_in = {}          # seq -> message (out of order)
        self.held = None              # the first of a reordered pair
        self.paused_at = None
        self.streams = {}             # sid -> (reader, writer)
        self.raw = None               # the old agent's one connection
        self.smux_buf = b""
        self.window = asyncio.Event()
        self.window.set()
        self.closed = False
        self.resumable = False        # set with state["resume"] when the session starts
        self.suspended_at = None      # the WebSocket dropped; ResumeSession may follow
        self.handshake_done = asyncio.Event()
        self.send_lock = asyncio.Lock()

    def note(self, key, inc=1):
        with self.ep.lock:
            self.record[key] = self.record.get(key, 0) + inc

    # Output ------------------------------------------------------------------------------------

    async def _raw_send(self, frame):
        # While suspended the frame waits in unacked for the resumed channel.
        if self.ws is None:
            return
        try:
            await self.ws.send(frame)
        except websockets.ConnectionClosed:
            pass

    async def send_output(self, ptype, payload, data=True):
        """An output_stream_data message, sequence-numbered, kept until acked."""
        await self.window.wait()
        async with self.send_lock:
            seq = self.out_seq
            self.out_seq += 1
            frame = encode("output_stream_data", seq, ptype, payload)
            self.unacked[seq] = [frame, time.monotonic()]
            if len(self.unacked) >= MAX_UNACKED:
                self.window.clear()
            if not data:
                await self._raw_send(frame)
                return
            self.data_out += 1
            await self._send_with_faults(frame, self.data_out)

    async def _send_with_faults(self, frame, n):
        f = self.faults
        if self.held is not None:
            await self._raw_send(frame)
            await self._raw_send(self.held)
            self.held = None
        elif n in f.get("drop", []):
            self.note("faults_dropped")
        elif n in f.get("corrupt", []):
            bad = bytearray(frame)
            bad[80] ^= 0xFF
            await self._raw_send(bytes(bad))
            self.note("faults_corrupted")
        elif n in f.get("reorder", []):
            self.held = frame
            self.note("faults_reordered")
        elif n in f.get("duplicate", []):
            await self._raw_send(frame)
            await self._raw_send(frame)
            self.note("faults_duplicated")
        else:
            await self._raw_send(frame)
        if f.get("close_after") == n:
            self.note("faults_ws_closed")
            if self.resumable:
                # Resumable from now on, before the loop has noticed the close.
                self.suspended_at = time.monotonic()
            self.ws.transport.abort()
        elif f.get("closed_after") == n:
            await self.channel_closed("Session %s was terminated: the idle timeout of 20 "
                                      "minutes was reached." % self.record["id"], "service")

    async def send_control(self, mtype):
        await self._raw_send(encode(mtype, 0, 0, b""))

    async def resend_loop(self):
        while not self.closed:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for seq in sorted(self.unacked):
                entry = self.unacked.get(seq)
                if entry and now - entry[1] > RESEND_AFTER:
                    entry[1] = now
                    self.note("resends")
                    await self._raw_send(entry[0])

    async def channel_closed(self, output, by):
        payload = json.dumps({"MessageId": str(uuid.uuid4()), "CreatedDate":
                              datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                              "DestinationId": self.record["target"],
                              "SessionId": self.record["id"], "MessageType": "channel_closed",
                              "SchemaVersion": 1, "Output": output}).encode()
        with self.ep.lock:
            self.record["closed_by"] = by
        self.closed = True
        if self.ws is None:
            self.close_streams()
            return
        await self._raw_send(encode("channel_closed", 0, 0, payload))
        await self.ws.close()

    # Input -------------------------------------------------------------------------------------

    async def ack(self, msg):
        content = json.dumps({"AcknowledgedMessageType": msg["type"],
                              "AcknowledgedMessageId": msg["id"],
                              "AcknowledgedMessageSequenceNumber": msg["seq"],
                              "IsSequentialMessage": True}).encode()
        await self._raw_send(encode("acknowledge", 0, 0, content))

    async def on_frame(self, data):
        try:
            msg = decode(data)
        except ValueError as e:
            self.note("bad_frames")
            with self.ep.lock:
                self.record["last_bad_frame"] = str(e)
            return
        if msg["type"] == "acknowledge":
            content = json.loads(msg["payload"])
            seq = content["AcknowledgedMessageSequenceNumber"]
            if self.unacked.pop(seq, None) is not None:
                self.note("acks")
            if len(self.unacked) < MAX_UNACKED // 2:
                self.window.set()
            return
        if msg["type"] != "input_stream_data":
            self.note("unknown_in")
            return
        if msg["ptype"] == PAYLOAD_OUTPUT and self.handshake_done.is_set():
            self.data_in += 1
            if self.data_in in self.faults.get("drop_in", []):
                self.note("faults_dropped_in")
                return
        await self.ack(msg)
        if msg["seq"] < self.expected_in:
            self.note("duplicates_in")
            return
        if msg["seq"] > self.expected_in:
            self.note("out_of_order_in")
            if len(self.pending_in) < 10000:
                self.pending_in[msg["seq"]] = msg
            return
        await self.deliver(msg)
        while self.expected_in in self.pending_in:
            await self.deliver(self.pending_in.pop(self.expected_in))

    async def deliver(self, msg):
        self.expected_in += 1
        if msg["ptype"] == PAYLOAD_HS_RESP:
            resp = json.loads(msg["payload"])
            with self.ep.lock:
                self.record["client_version"] = resp.get("ClientVersion")
            done = json.dumps({"HandshakeTimeToComplete": 2000000,
                               "CustomerMessage": ""}).encode()
            await self.send_output(PAYLOAD_HS_DONE, done, data=False)
            self.handshake_done.set()
            pause = self.faults.get("pause_ms")
            if pause:
                await self.send_control("pause_publication")
                self.paused_at = time.monotonic()
                await asyncio.sleep(pause / 1000.0)
                self.paused_at = None
            await self.send_control("start_publication")
        elif msg["ptype"] == PAYLOAD_OUTPUT:
            if self.paused_at is not None and time.monotonic() - self.paused_at > 0.3:
                self.note("paused_violations")
            self.note("bytes_in", len(msg["payload"]))
            if self.record["mux"]:
                await self.on_smux_bytes(msg["payload"])
            else:
                await self.on_raw_bytes(msg["payload"])
        elif msg["ptype"] == PAYLOAD_FLAG:
            (flag,) = struct.unpack(">I", msg["payload"][:4])
            with self.ep.lock:
                self.record.setdefault("flags", []).append(flag)
            if flag == 1 and self.raw is not None:
                self.raw.close()
                self.raw = None

    # Port forwarding ---------------------------------------------------------------------------

    async def connect(self):
        return await asyncio.open_connection(self.record["host"], int(self.record["port"]))

    async def on_smux_bytes(self, data):
        self.smux_buf += data
        while len(self.smux_buf) >= 8:
            ver, cmd, length, sid = struct.unpack("<BBHI", self.smux_buf[:8])
            if ver != 1 or len(self.smux_buf) < 8 + length:
                if ver != 1:
                    self.note("bad_smux")
                    self.smux_buf = b""
                return
            body = self.smux_buf[8:8 + length]
            self.smux_buf = self.smux_buf[8 + length:]
            if cmd == SMUX_SYN:
                self.note("streams")
                try:
                    reader, writer = await self.connect()
                except OSError:
                    await self.send_output(PAYLOAD_OUTPUT, smux_frame(SMUX_FIN, sid))
                    continue
                self.streams[sid] = writer
                asyncio.ensure_future(self.pump(reader, sid))
            elif cmd == SMUX_PSH and sid in self.streams:
                self.streams[sid].write(body)
                await self.streams[sid].drain()
            elif cmd == SMUX_FIN and sid in self.streams:
                writer = self.streams.pop(sid)
                writer.close()

    async def pump(self, reader, sid):
        """Database → client: PSH frames, then FIN, in CHUNK-sized messages."""
        while not self.closed:
            try:
                data = await reader.read(32768)
            except OSError:
                data = b""
            if not data:
                break
            self.note("bytes_out", len(data))
            stream = smux_frame(SMUX_PSH, sid, data)
            for i in range(0, len(stream), CHUNK):
                await self.send_output(PAYLOAD_OUTPUT, stream[i:i + CHUNK])
        if not self.closed and sid in self.streams:
            self.streams.pop(sid).close()
            await self.send_output(PAYLOAD_OUTPUT, smux_frame(SMUX_FIN, sid))

    async def on_raw_bytes(self, data):
        if self.raw is None:
            self.note("streams")
            reader, self.raw = await self.connect()
            asyncio.ensure_future(self.raw_pump(reader, self.raw))
        self.raw.write(data)
        await self.raw.drain()

    async def raw_pump(self, reader, writer):
        while not self.closed:
            data = await reader.read(32768)
            if not data:
                break
            self.note("bytes_out", len(data))
            for i in range(0, len(data), CHUNK):
                await self.send_output(PAYLOAD_OUTPUT, data[i:i + CHUNK])
        if self.raw is writer:
            self.raw = None

    def close_streams(self):
        for writer in list(self.streams.values()):
            writer.close()
        self.streams.clear()
        if self.raw is not None:
            self.raw.close()
            self.raw = None

    # The channel -------------------------------------------------------------------------------

    async def run(self, ws):
        resumed = self.suspended_at is not None
        self.ws = ws
        self.suspended_at = None
        first = await asyncio.wait_for(ws.recv(), 10)
        try:
            open_input = json.loads(first)
        except (TypeError, ValueError):
            open_input = {}
        if not isinstance(open_input, dict) or \
                not secrets.compare_digest(str(open_input.get("TokenValue", "")), self.token):
            self.note("bad_tokens")
            await ws.close(code=1008, reason="invalid token")
            return
        with self.ep.lock:
            self.record["data_channels"] = self.record.get("data_channels", 0) + 1
            self.record["client_id"] = open_input.get("ClientId")
        if resumed:
            await self.serve(ws)
            return
        request = json.dumps({
            "AgentVersion": self.record["agent_version"],
            "RequestedClientActions": [{
                "ActionType": "SessionType",
                "ActionParameters": {"SessionType": "Port", "Properties": {
                    "portNumber": str(self.record["port"]), "host": self.record["host"],
                    "type": "LocalPortForwarding"}}}]}).encode()
        await self.serve(ws, request)

    async def serve(self, ws, request=None):
        self.suspended_at = None
        resender = asyncio.ensure_future(self.resend_loop())
        if request is not None:
            await self.send_output(PAYLOAD_HS_REQ, request, data=False)
        try:
            async for data in ws:
                if isinstance(data, bytes):
                    await self.on_frame(data)
        except websockets.ConnectionClosed:
            pass
        finally:
            resender.cancel()
            with self.ep.lock:
                self.record["ws_closed"] = self.record.get("ws_closed", 0) + 1
            if self.ws is not ws:
                pass    # already resumed on a new channel
            elif self.resumable and not self.closed and self.handshake_done.is_set():
                # A dropped channel: the TCP connections wait for ResumeSession.
                self.ws = None
                self.suspended_at = self.suspended_at or time.monotonic()
            else:
                self.closed = True
                self.close_streams()


# --- the SSM API -------------------------------------------------------------------------------

class Endpoint(aws_endpoint.Endpoint):
    def __init__(self, region):
        super().__init__(region)
        self.state = default_ssm_state(region)
        self.sessions = {}            # id -> Session
        self.loop = None


class Handler(aws_endpoint.Handler):
    server_version = "AmazonSSM-fake"

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_control/reset":
            self._read_body()
            with self.ep.lock:
                stream_port = self.ep.state["stream_port"]
                self.ep.state = default_ssm_state(self.ep.state["region"])
                self.ep.state["stream_port"] = stream_port
            self._send(200, "{}", "application/json")
            return
        super().do_POST()

    def _json_error(self, e):
        self._send(e.status, json.dumps({"__type": e.code, "message": e.message}),
                   "application/x-amz-json-1.1")

    def _check_clock(self, entry):
        skew = self.ep.state.get("clock_skew_s", 0)
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return
        now = datetime.datetime.utcnow() + datetime.timedelta(seconds=skew)
        if abs((now - when).total_seconds()) > 5 * 60:
            entry["error"] = "InvalidSignatureException"
            raise AwsError(400, "InvalidSignatureException",
                           "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                           % (amz_date, (now - datetime.timedelta(minutes=5)).strftime(
                               "%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%dT%H%M%SZ")))

    def _aws(self, body):
        target = self.headers.get("X-Amz-Target", "")
        action = target.split(".", 1)[-1] if target.startswith("AmazonSSM.") else ""
        entry = {"service": "ssm", "action": action, "status": None, "error": None}
        with self.ep.lock:
            self.ep.state["requests"].append(entry)
        try:
            with self.ep.lock:
                self._check_clock(entry)
                deny = action in self.ep.state["deny"]
                self.ep.state["deny"] = [a for a in self.ep.state["deny"] if a != action]
                try:
                    self._authenticate("ssm", action, body, entry)
                finally:
                    if deny:
                        self.ep.state["deny"].append(action)
                req = json.loads(body or b"{}")
                if deny:
                    raise AwsError(400, "AccessDeniedException",
                                   "User: arn:aws:iam::%s:user/bastion-test is not authorized to "
                                   "perform: ssm:%s on resource: arn:aws:ec2:%s:%s:instance/%s "
                                   "because no identity-based policy allows the ssm:%s action"
                                   % (ACCOUNT, action, self.ep.state["region"], ACCOUNT,
                                      req.get("Target", ""), action))
                if action == "StartSession":
                    reply = self._start_session(req)
                elif action == "TerminateSession":
                    reply = self._terminate_session(req)
                elif action == "ResumeSession":
                    reply = self._resume_session(req)
                else:
                    raise AwsError(400, "UnknownOperationException", "Unknown operation")
                entry["status"] = 200
        except ValueError:
            entry["status"] = 400
            self._json_error(AwsError(400, "SerializationException", "bad JSON"))
            return
        except AwsError as e:
            if e.code == "SignatureDoesNotMatch":   # the JSON protocol's name for it
                e = AwsError(400, "InvalidSignatureException", e.message)
            entry["status"] = e.status
            entry["error"] = e.code
            self._json_error(e)
            return
        self._send(200, json.dumps(reply), "application/x-amz-json-1.1")

    def _start_session(self, req):
        state = self.ep.state
        target = req.get("Target", "")
        if req.get("DocumentName") != "AWS-StartPortForwardingSessionToRemoteHost":
            raise AwsError(400, "InvalidDocument", "Document %s is not supported here"
                           % req.get("DocumentName"))
        params = req.get("Parameters") or {}
        host = (params.get("host") or [""])[0]
        port = (params.get("portNumber") or [""])[0]
        if not host or not str(port).isdigit():
            raise AwsError(400, "InvalidParameters", "host and portNumber are required")
        registered = state.get("registered")
        if not target.startswith("i-") or (registered is not None and target not in registered):
            raise AwsError(400, "TargetNotConnected", "%s is not connected." % target)
        session_id = "bastion-test-%s" % uuid.uuid4().hex[:17]
        token = secrets.token_urlsafe(48)
        record = {"id": session_id, "target": target, "host": host, "port": port,
                  "agent_version": state["agent_version"],
                  "mux": aws_version_gt(state["agent_version"], "3.0.196.0"),
                  "started": time.time(), "closed_by": None}
        state["ssm_sessions"].append(record)
        self.ep.sessions[session_id] = Session(self.ep, record, token,
                                               json.loads(json.dumps(state.get("faults", {}))))
        self.ep.sessions[session_id].resumable = bool(state.get("resume"))
        url = "ws://127.0.0.1:%d/v1/data-channel/%s?role=publish_subscribe&cell-number=AAAA" % (
            state["stream_port"], session_id)
        return {"SessionId": session_id, "StreamUrl": url, "TokenValue": token}

    def _resume_session(self, req):
        session_id = req.get("SessionId", "")
        session = self.ep.sessions.get(session_id)
        if session is None or session.closed or session.suspended_at is None or \
                time.monotonic() - session.suspended_at > 60:
            raise AwsError(400, "InvalidOperationRequest",
                           "Session %s cannot be resumed." % session_id)
        session.token = secrets.token_urlsafe(48)
        session.record["resumes"] = session.record.get("resumes", 0) + 1
        url = "ws://127.0.0.1:%d/v1/data-channel/%s?role=publish_subscribe&cell-number=AAAA" % (
            self.ep.state["stream_port"], session_id)
        return {"SessionId": session_id, "StreamUrl": url, "TokenValue": session.token}

    def _terminate_session(self, req):
        session_id = req.get("SessionId", "")
        session = self.ep.sessions.get(session_id)
        if session is not None and not session.closed and \
                (session.ws is not None or session.suspended_at is not None):
            asyncio.run_coroutine_threadsafe(
                session.channel_closed("Session %s was terminated by the client." % session_id,
                                       "TerminateSession"), self.ep.loop)
        elif session is not None:
            session.record["closed_by"] = "TerminateSession"
        return {"SessionId": session_id}


def aws_version_gt(a, b):
    try:
        return [int(x) for x in a.split(".")] > [int(x) for x in b.split(".")]
    except ValueError:
        return False


async def data_channel(ep, ws):
    path = urllib.parse.urlsplit(ws.path).path
    session_id = path.rsplit("/", 1)[-1]
    session = ep.sessions.get(session_id)
    if session is None or session.closed or \
            (session.ws is not None and session.suspended_at is None):
        await ws.close(code=1008, reason="unknown or used session")
        return
    await session.run(ws)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="us-west-2")
    args = parser.parse_args()

    ep = Endpoint(args.region)

    async def serve():
        ep.loop = asyncio.get_running_loop()
        async with websockets.serve(lambda ws: data_channel(ep, ws), "127.0.0.1", 0,
                                    max_size=1 << 20, ping_interval=None,
                                    compression=None) as ws_server:
            ep.state["stream_port"] = ws_server.sockets[0].getsockname()[1]
            # The API answers only once StreamUrl's port is known.
            server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
            server.daemon_threads = True
            server.endpoint = ep
            threading.Thread(target=server.serve_forever, daemon=True).start()
            await asyncio.Future()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
