"""Sends mail through goodwill's email dropbox as a person would, with Python's smtplib.

Usage: smtplib_dropbox.py HOST PORT RECRUITER_ADDRESS MADE_UP_ADDRESS

1. Ann's answer to Zoe, BCC'd to Ann's dropbox address (multipart/alternative).
2. Zoe's reply, redirected by Ann's mail rule to the same address, headers kept.
3. The answer again (a second copy of the same message).
4. A stranger's mail to a made-up token.

Prints one JSON object: what the server answered to each.
"""
import json
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

host, port, dropbox, made_up = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
results = {}


def send(name, msg, mail_from, rcpts):
    try:
        with smtplib.SMTP(host, port, timeout=30) as s:
            s.ehlo("client.example.com")
            refused = s.send_message(msg, from_addr=mail_from, to_addrs=rcpts)
            results[name] = {"ok": True, "refused": {k: v[0] for k, v in refused.items()}}
    except smtplib.SMTPRecipientsRefused as e:
        results[name] = {"ok": False, "refused": {k: v[0] for k, v in e.recipients.items()}}
    except smtplib.SMTPResponseException as e:
        results[name] = {"ok": False, "code": e.smtp_code, "error": e.smtp_error.decode()}


answer = EmailMessage()
answer["From"] = "Ann Recruiter <ann@acme.test>"
answer["To"] = "Zoë Candidate <zoe@example.com>"
answer["Subject"] = "Your application — next steps"
answer["Date"] = formatdate(localtime=False)
answer["Message-ID"] = make_msgid(domain="mail.acme.test")
answer.set_content("Hi Zoë, PRIVATE-BODY-7f3a9c thanks for applying. " * 5)
answer.add_alternative("<p>Hi Zoë, PRIVATE-BODY-7f3a9c thanks for applying.</p>", subtype="html")
# The BCC: the dropbox is an envelope recipient only, as a mail client sends it.
send("answer", answer, "ann@acme.test", [dropbox])

reply = EmailMessage()
reply["From"] = "Zoë Candidate <zoe@example.com>"
reply["To"] = "Ann Recruiter <ann@acme.test>"
reply["Subject"] = "Re: Your application — next steps"
reply["Date"] = formatdate(localtime=False)
reply["Message-ID"] = make_msgid(domain="example.com")
reply["In-Reply-To"] = answer["Message-ID"]
reply.set_content("Thanks Ann! PRIVATE-BODY-7f3a9c See you Tuesday.")
# The redirect keeps the candidate's headers; the envelope sender is the candidate.
send("reply", reply, "zoe@example.com", [dropbox])

send("answer again", answer, "ann@acme.test", [dropbox])

stranger = EmailMessage()
stranger["From"] = "someone@example.net"
stranger["To"] = made_up
stranger["Subject"] = "hello"
stranger.set_content("PRIVATE-BODY-7f3a9c")
send("made-up token", stranger, "someone@example.net", [made_up])

print(json.dumps(results))
