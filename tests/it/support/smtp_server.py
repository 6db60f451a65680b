"""A real SMTP server (aiosmtpd) for Tocsin's integration tests.

It listens on 127.0.0.1 on a free port, prints `READY <port>` once listening, then one JSON line
per accepted message on stdout: {"mail_from", "rcpt_tos", "data", "text", "headers"} (text:
the decoded plain-text body). Recipients whose local part
starts with "refuse" are refused with 550, as a real server refuses an unknown mailbox; those
starting with "busy" get 451, a temporary refusal.
"""

import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.smtp import SMTP


class Recorder:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("refuse"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.content.decode("utf-8", errors="replace")
        # Decoded as a mail client would: the text part (quoted-printable or base64 undone) and
        # the headers, so that tests can read links without decoding transfer encodings.
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        headers = {name: str(value) for name, value in message.items()}
        line = json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "data": data, "text": text, "headers": headers})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return "250 Message accepted for delivery"


async def main():
    loop = asyncio.get_running_loop()
    handler = Recorder()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, decode_data=False), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    # Stop when the test process closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
