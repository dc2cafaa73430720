"""Write the mail-classes corpus: one synthetic mail per shape of issue 13, with its manifest.

Every mail here was written for this project (licence: the project's, Apache-2.0), after
the shapes real senders produce: Postfix, Exim, qmail, Sendmail, Exchange/Office 365 and
Gmail bounces, Japanese carriers (docomo, au, SoftBank, an ISP's "メールエラー通知"),
Amazon SES notifications relayed by SNS, Hotmail complaints, Apache James, fml's
"Loop Alert"; out-of-office replies in English, Japanese, German and French,
challenge-response systems; and human mail with odd From lines, list headers, raw 8-bit
and mislabelled charsets. The bytes are written exactly (raw 8-bit where the shape has it).

`manifest.json` says for each file what it is and what a desk expects of it: `class`
(machine: a bounce, auto-reply or other robot; human: a person, whatever the headers),
the decoded `subject`, the `from` address, whether the sender is an authorized `contact`
in the bench's settings, and the `licence`. bench/corpus.py measures the four figures of
issue 13 on it; tests/unit/test_corpus_classes.py checks each class.

Run ``python tests/corpus/classes/make_corpus.py`` to rewrite the files.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
LICENCE = "Apache-2.0 (synthetic, written for support-gateway)"
OUR_NOTICE = "gw.0f3c2a9d4b5e6f708192a3b4c5d6e7f8@support.example.test"
CONTACT = "alice@example.test"
SUPPORT = "support@support.example.test"


def jis(text: str) -> bytes:
    return text.encode("iso-2022-jp")


def bword(text: str, charset: str = "ISO-2022-JP") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset.lower())).decode()}?="


def mail(headers: list[tuple[str, str | bytes]], body: str | bytes) -> bytes:
    lines = []
    for name, value in headers:
        value = value.encode("ascii") if isinstance(value, str) else value
        lines.append(name.encode("ascii") + b": " + value if name else value)
    data = body.encode("utf-8") if isinstance(body, str) else body
    return b"\r\n".join(lines).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n\r\n" + \
        data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def common(msg_id: str, date: str = "Tue, 14 May 2024 10:23:45 +0900") -> list[tuple[str, str]]:
    return [("Date", date), ("Message-ID", f"<{msg_id}>"), ("MIME-Version", "1.0")]


RETURNED = (
    f"Return-Path: <{SUPPORT}>\nFrom: Example Support Desk <{SUPPORT}>\nTo: bob@example.org\n"
    f"Subject: [INC-000003] Server stops every night\nMessage-ID: <{OUR_NOTICE}>\n"
    "Date: Tue, 14 May 2024 10:00:00 +0900\n"
)

ENTRIES: list[dict[str, object]] = []


def add(name: str, what: str, klass: str, subject: str, from_: str, raw: bytes, *, contact: bool = False,
        family: str = "") -> None:
    (HERE / name).write_bytes(raw)
    ENTRIES.append({"file": name, "what": what, "class": klass, "family": family, "subject": subject,
                    "from": from_, "contact": contact, "licence": LICENCE})


def dsn(name: str, what: str, from_hdr: str, from_addr: str, subject: str, human: str, status: str,
        diag: str, family: str) -> None:
    body = (
        "This is a MIME-encapsulated message.\n\n--B0UND\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{human}\n\n--B0UND\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n"
        "Arrival-Date: Tue, 14 May 2024 10:00:02 +0900\n\nFinal-Recipient: rfc822; bob@example.org\n"
        f"Original-Recipient: rfc822;bob@example.org\nAction: failed\nStatus: {status}\n"
        f"Remote-MTA: dns; mx2.example.org\nDiagnostic-Code: smtp; {diag}\n\n"
        "--B0UND\nContent-Type: text/rfc822-headers\n\n" + RETURNED + "\n--B0UND--\n"
    )
    add(name, what, "machine", subject, from_addr, mail(
        [("From", from_hdr), ("To", SUPPORT), ("Subject", subject), *common(f"{name}@mx.example.org"),
         ("Auto-Submitted", "auto-replied"),
         ("Content-Type", 'multipart/report; report-type=delivery-status; boundary="B0UND"')], body),
        family=family)


def bounces() -> None:
    dsn("postfix_dsn.eml", "Postfix DSN (RFC 3464) of one of our notices",
        "MAILER-DAEMON@mx.example.org (Mail Delivery System)", "mailer-daemon@mx.example.org",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message "
        "could not\nbe delivered to one or more recipients.", "5.1.1",
        "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown", "bounce")
    dsn("gmail_dsn.eml", "Gmail Delivery Status Notification (Failure)",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "mailer-daemon@googlemail.com",
        "Delivery Status Notification (Failure)",
        "** Address not found **\n\nYour message wasn't delivered to bob@example.org because the address "
        "couldn't be found.", "5.1.1", "550-5.1.1 The email account that you tried to reach does not exist.",
        "bounce")
    dsn("o365_ndr.eml", "Office 365 non-delivery report (multipart/report)",
        "Microsoft Outlook <postmaster@outlook.com>", "postmaster@outlook.com",
        "Undeliverable: [INC-000003] Server stops every night",
        "Delivery has failed to these recipients or groups:\n\nbob@example.org\nThe email address you entered "
        "couldn't be found.", "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "bounce")
    add("exim_failed.eml", "Exim bounce, plain text (no RFC 3464 part)", "machine",
        "Mail delivery failed: returning message to sender", "mailer-daemon@mx.example.org", mail(
            [("Return-Path", "<>"), ("From", "Mail Delivery System <Mailer-Daemon@mx.example.org>"),
             ("To", SUPPORT), ("Subject", "Mail delivery failed: returning message to sender"),
             *common("exim1@mx.example.org"), ("Auto-Submitted", "auto-replied"), ("X-Failed-Recipients", "bob@example.org"),
             ("Content-Type", "text/plain; charset=us-ascii")],
            "This message was created automatically by mail delivery software.\n\nA message that you sent could "
            "not be delivered to one or more of its\nrecipients. This is a permanent error. The following "
            "address(es) failed:\n\n  bob@example.org\n    host mx2.example.org [192.0.2.25]\n    SMTP error "
            "from remote mail server after RCPT TO:<bob@example.org>:\n    550 5.1.1 <bob@example.org>: User "
            "unknown\n\n------ This is a copy of the message, including all the headers. ------\n\n"
            + RETURNED + "\nYour server stops because...\n"), family="bounce")
    add("qmail_failure.eml", "qmail failure notice", "machine", "failure notice", "mailer-daemon@mx.example.net",
        mail([("From", "MAILER-DAEMON@mx.example.net"), ("To", SUPPORT), ("Subject", "failure notice"),
              *common("qmail1@mx.example.net")],
             "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your "
             "message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work "
             "out.\n\n<bob@example.net>:\n192.0.2.7 does not like recipient.\nRemote host said: 550 5.1.1 "
             "<bob@example.net>... User unknown\nGiving up on 192.0.2.7.\n\n--- Below this line is a copy of "
             "the message.\n\n" + RETURNED + "\nbody\n"), family="bounce")
    add("sendmail_returned.eml", "old Sendmail bounce, plain text", "machine",
        "Returned mail: see transcript for details", "mailer-daemon@mail.example.com",
        mail([("From", "Mail Delivery Subsystem <MAILER-DAEMON@mail.example.com>"), ("To", SUPPORT),
              ("Subject", "Returned mail: see transcript for details"), *common("sm1@mail.example.com")],
             "The original message was received at Tue, 14 May 2024 10:00:00 +0900\nfrom localhost\n\n   ----- "
             "The following addresses had permanent fatal errors -----\n<bob@example.com>\n    (reason: 550 5.1.1 "
             "User unknown)\n\n   ----- Transcript of session follows -----\n... while talking to "
             "mx.example.com.:\n>>> RCPT To:<bob@example.com>\n<<< 550 5.1.1 User unknown\n\n   ----- Original "
             "message follows -----\n\n" + RETURNED), family="bounce")
    add("exchange2003_ndr.eml", "Exchange 2003 NDR from a System Administrator, plain text", "machine",
        "Undeliverable: [INC-000003] Server stops every night", "postmaster@corp.example",
        mail([("From", "System Administrator <postmaster@corp.example>"), ("To", SUPPORT),
              ("Subject", "Undeliverable: [INC-000003] Server stops every night"), *common("ex1@corp.example"),
              ("Content-Type", "text/plain; charset=us-ascii")],
             "Your message did not reach some or all of the intended recipients.\n\n      Subject:\t[INC-000003] "
             "Server stops every night\n      Sent:\t5/14/2024 10:00 AM\n\nThe following recipient(s) could not "
             "be reached:\n\n      bob@corp.example on 5/14/2024 10:00 AM\n            The e-mail account does "
             "not exist at the organization this message was sent to.\n            <mx.corp.example #5.1.1>\n"),
        family="bounce")
    add("carrier_post_master.eml", "carrier bounce from post_master@, subject \"Re:\"", "machine",
        "Re: [INC-000003] Server stops every night", "post_master@mail.carrier.example",
        mail([("From", "post_master@mail.carrier.example"), ("To", SUPPORT),
              ("Subject", "Re: [INC-000003] Server stops every night"), *common("pm1@mail.carrier.example"),
              ("In-Reply-To", f"<{OUR_NOTICE}>")],
             "Your mail could not be delivered to the following address:\n\n    bob@carrier.example\n\nReason: "
             "550 5.1.1 unknown user\n\n----- Original message headers -----\n" + RETURNED), family="bounce")
    subject = "メールエラー通知"
    add("jp_isp_mail_error.eml", "Japanese ISP error notice: no-reply@, \"メールエラー通知\", ISO-2022-JP",
        "machine", subject, "no-reply@mail.isp.example.jp",
        mail([("From", "no-reply@mail.isp.example.jp"), ("To", SUPPORT), ("Subject", bword(subject)),
              *common("jp1@mail.isp.example.jp"), ("Content-Type", "text/plain; charset=ISO-2022-JP"),
              ("Content-Transfer-Encoding", "7bit")],
             jis("以下のメールアドレスへの送信に失敗しました。\n\n宛先: bob@isp.example.jp\n理由: 宛先のメール"
                 "アドレスが存在しません (550 5.1.1)\n\n--- 送信したメールのヘッダ ---\n") + RETURNED.encode()),
        family="bounce")
    add("docomo_error.eml", "docomo bounce (Shift_JIS body)", "machine", "Returned mail: see transcript for details",
        "mailer-daemon@docomo.ne.jp",
        mail([("From", "Mail Delivery Subsystem <MAILER-DAEMON@docomo.ne.jp>"), ("To", SUPPORT),
              ("Subject", "Returned mail: see transcript for details"), *common("dcm1@docomo.ne.jp"),
              ("Content-Type", "text/plain; charset=Shift_JIS")],
             "お客様が送信されたメールは、宛先のアドレスが見つからないため配信できませんでした。\n\n<bob@docomo.ne.jp>: "
             "550 Unknown user\n\n".encode("cp932") + RETURNED.encode()), family="bounce")
    add("au_ezweb_error.eml", "au (KDDI) Mail System Error", "machine", "Mail System Error - Returned Mail",
        "mailer-daemon@ezweb.ne.jp",
        mail([("From", "MAILER-DAEMON@ezweb.ne.jp"), ("To", SUPPORT), ("Subject", "Mail System Error - Returned Mail"),
              *common("au1@ezweb.ne.jp")],
             "This Message was undeliverable due to the following reason:\n\n<bob@ezweb.ne.jp> is not a valid "
             "mailbox\n\nThe following recipients did not receive this message:\n\n     <bob@ezweb.ne.jp>\n\n"
             + RETURNED), family="bounce")
    add("softbank_error.eml", "SoftBank returned mail from Postmaster@", "machine", "Returned mail: User unknown",
        "postmaster@softbank.ne.jp",
        mail([("From", "Postmaster@softbank.ne.jp"), ("To", SUPPORT), ("Subject", "Returned mail: User unknown"),
              *common("sb1@softbank.ne.jp")],
             "----- The following addresses had permanent fatal errors -----\n<bob@softbank.ne.jp>\n\n"
             "----- Transcript of session follows -----\n550 5.1.1 <bob@softbank.ne.jp>... User unknown\n\n"
             + RETURNED), family="bounce")
    inner = {"notificationType": "Bounce", "bounce": {
        "bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [{
            "emailAddress": "bob@example.com", "action": "failed", "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
        "timestamp": "2024-05-14T01:00:05.000Z", "feedbackId": "0100018f-aaaa"},
        "mail": {"timestamp": "2024-05-14T01:00:00.000Z", "source": SUPPORT, "messageId": "0100018f-bbbb",
                 "destination": ["bob@example.com"],
                 "headers": [{"name": "Message-ID", "value": f"<{OUR_NOTICE}>"}],
                 "commonHeaders": {"messageId": f"<{OUR_NOTICE}>", "subject": "[INC-000003] Server stops"}}}
    sns = {"Type": "Notification", "MessageId": "5a1b-22c3", "TopicArn": "arn:aws:sns:ap-northeast-1:1:ses-bounces",
           "Message": json.dumps(inner), "Timestamp": "2024-05-14T01:00:06.000Z", "SignatureVersion": "1"}
    add("ses_sns_bounce.eml", "Amazon SES bounce relayed by SNS (JSON body)", "machine", "AWS Notification Message",
        "no-reply@sns.amazonaws.com",
        mail([("From", "AWS Notifications <no-reply@sns.amazonaws.com>"), ("To", SUPPORT),
              ("Subject", "AWS Notification Message"), *common("sns1@email.amazonses.com"),
              ("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "7bit")],
             json.dumps(sns, indent=1) + "\n\n--\nIf you wish to stop receiving notifications from this topic, "
             "please click or visit the link below to unsubscribe:\nhttps://sns.ap-northeast-1.amazonaws.com/"
             "unsubscribe.html\n"), family="bounce")
    complaint = {"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "carol@example.com"}], "complaintFeedbackType": "abuse"},
        "mail": {"messageId": "0100018f-cccc", "commonHeaders": {"messageId": f"<{OUR_NOTICE}>"}}}
    add("ses_sns_complaint.eml", "Amazon SES complaint relayed by SNS (raw message delivery)", "machine",
        "AWS Notification Message", "no-reply@sns.amazonaws.com",
        mail([("From", "no-reply@sns.amazonaws.com"), ("To", SUPPORT), ("Subject", "AWS Notification Message"),
              *common("sns2@email.amazonses.com"), ("Content-Type", "text/plain; charset=UTF-8")],
             json.dumps(complaint) + "\n"), family="bounce")
    add("hotmail_complaint.eml", "Hotmail complaint: multipart/mixed from staff@hotmail.com", "machine",
        "complaint about message from 192.0.2.10", "staff@hotmail.com",
        mail([("From", "staff@hotmail.com"), ("To", SUPPORT), ("Subject", "complaint about message from 192.0.2.10"),
              *common("hm1@hotmail.com"), ("Content-Type", 'multipart/mixed; boundary="hm"')],
             "--hm\nContent-Type: text/plain; charset=us-ascii\n\nThis is an email abuse report for an email "
             "message received from IP 192.0.2.10 on Tue, 14 May 2024 01:00:00 -0700.\nFor more information "
             "about this format please see http://www.mipassoc.org/arf/.\n\n--hm\nContent-Type: message/rfc822\n"
             "Content-Disposition: inline\n\n" + RETURNED + "\nbody\n--hm--\n"), family="bounce")
    add("apache_james_bounce.eml", "Apache James bounce (not RFC 3464, not postmaster)", "machine",
        "[BOUNCE] [INC-000003] Server stops every night", "james@mail.example.org",
        mail([("From", "James Mail Server <james@mail.example.org>"), ("To", SUPPORT),
              ("Subject", "[BOUNCE] [INC-000003] Server stops every night"), *common("james1@mail.example.org"),
              ("Content-Type", 'multipart/mixed; boundary="jb"')],
             "--jb\nContent-Type: text/plain\n\nHi. This is the James mail server at mail.example.org.\nI'm afraid "
             "I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've "
             "given up. Sorry it didn't work out.  Below\nI include the list of recipients and the reason why I "
             "was unable to deliver\nyour message.\n\nFailed recipient(s):\nbob@example.org\n\nError message:\n"
             "550 5.1.1 Requested action not taken: mailbox unavailable\n\n--jb\nContent-Type: message/rfc822\n\n"
             + RETURNED + "\nbody\n--jb--\n"), family="bounce")
    add("fml_loop_alert.eml", "fml mailing-list \"Loop Alert\"", "machine", "fml Loop Alert: dup'ed message",
        "elena-admin@ml.example.jp",
        mail([("From", "elena-admin@ml.example.jp"), ("To", SUPPORT), ("Subject", "fml Loop Alert: dup'ed message"),
              *common("fml1@ml.example.jp"), ("X-MLServer", "fml [fml 4.0.3 release]")],
             "fml <elena@ml.example.jp> Loop Alert: dup'ed message-id\n\nThe following message was rejected "
             "because it seems to be looped.\n\n" + RETURNED), family="bounce")
    add("delivery_warning.eml", "\"Mail Delivery Warning\" from <Postmaster\\@x.com@x.com>", "machine",
        "Mail Delivery Warning", "postmaster@mail.example.com",
        mail([("From", "<Postmaster\\@mail.example.com@mail.example.com>"), ("To", SUPPORT),
              ("Subject", "Mail Delivery Warning"), *common("warn1@mail.example.com")],
             "This is an advisory-only email. Please do not reply to it.\n\nDelivery of the email you sent has "
             "not been completed yet for the following recipient:\n\n  bob@example.com\n\nThe server will keep "
             "trying for 4 more days.\n\n" + RETURNED), family="bounce")
    add("mdn_read_receipt.eml", "read receipt (RFC 8098 MDN)", "machine", "Read: Server stops every night",
        "taro@example.co.jp",
        mail([("From", "Taro Yamada <taro@example.co.jp>"), ("To", SUPPORT), ("Subject", "Read: Server stops every night"),
              *common("mdn1@example.co.jp"),
              ("Content-Type", 'multipart/report; report-type=disposition-notification; boundary="r"')],
             "--r\nContent-Type: text/plain\n\nYour message was read.\n--r\nContent-Type: message/disposition-"
             "notification\n\nFinal-Recipient: rfc822;taro@example.co.jp\nDisposition: manual-action/MDN-sent-"
             "manually; displayed\n--r--\n"), family="receipt")


def auto_replies() -> None:
    def reply(name: str, what: str, subject_hdr: str, subject: str, body: str | bytes, *,
              extra: list[tuple[str, str]] | None = None, sender: str = CONTACT, charset: str = "utf-8",
              family: str = "auto-reply") -> None:
        add(name, what, "machine", subject, sender, mail(
            [("From", f"Alice Example <{sender}>"), ("To", SUPPORT), ("Subject", subject_hdr),
             *common(name + "@example.test"), ("In-Reply-To", f"<{OUR_NOTICE}>"),
             ("Content-Type", f"text/plain; charset={charset}"), *(extra or [])], body),
            contact=sender == CONTACT, family=family)

    reply("ooo_autosubmitted.eml", "Exchange automatic reply with Auto-Submitted", "Automatic reply: Server stops",
          "Automatic reply: Server stops", "I am out of the office until Monday.",
          extra=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")])
    reply("auto_reply_subject.eml", "\"Auto reply:\" without any header marker", "Auto reply: Server stops",
          "Auto reply: Server stops", "Thank you for your mail. I will answer when I am back.")
    reply("auto_lotus_notes.eml", "Lotus Notes \"AUTO: X is out of the office\"",
          "AUTO: Alice Example is out of the office (returning 20.05.2024)",
          "AUTO: Alice Example is out of the office (returning 20.05.2024)",
          "I am out of the office until 20.05.2024.\n\nI will respond to your message when I return.")
    reply("ooo_re_incident.eml", "\"Out of Office: Re: [INC-000003] …\" without Auto-Submitted",
          "Out of Office: Re: [INC-000003] Server stops every night",
          "Out of Office: Re: [INC-000003] Server stops every night", "I am on holiday until 20 May.")
    for name, text in (("fuzai_tsuchi.eml", "不在通知: Re: [INC-000003] サーバーが毎晩停止する"),
                       ("jidou_outou.eml", "自動応答: サーバーが毎晩停止する"),
                       ("jidou_henshin.eml", "自動返信: Re: サーバーが毎晩停止する")):
        reply(name, f"Japanese auto-reply \"{text.split(':')[0]}\" (ISO-2022-JP)", bword(text), text,
              jis("ただいま不在にしております。5月20日以降に返信いたします。\n"), charset="ISO-2022-JP")
    reply("german_ooo.eml", "German \"Abwesenheitsnotiz\"", "=?iso-8859-1?Q?Abwesenheitsnotiz:_Server_stoppt_jede_Nacht?=",
          "Abwesenheitsnotiz: Server stoppt jede Nacht", "Ich bin bis zum 20.05. nicht im Büro.".encode("latin-1"),
          charset="iso-8859-1")
    reply("german_auto_antwort.eml", "German \"Automatische Antwort\"", "Automatische Antwort: Server stoppt",
          "Automatische Antwort: Server stoppt", "Vielen Dank für Ihre Nachricht.")
    reply("french_ooo.eml", "French \"Réponse automatique\"", "=?iso-8859-1?Q?R=E9ponse_automatique_:_Le_serveur_s'arr=EAte?=",
          "Réponse automatique : Le serveur s'arrête", "Je suis absente jusqu'au 20 mai.".encode("latin-1"),
          charset="iso-8859-1")
    reply("french_absence.eml", "French \"Absence du bureau\"", "Absence du bureau : Re: Le serveur",
          "Absence du bureau : Re: Le serveur", "Je suis absente du bureau.")
    reply("vacation_header.eml", "vacation program with X-Autoreply", "Re: Server stops", "Re: Server stops",
          "I am away.", extra=[("X-Autoreply", "yes")])
    add("tmda_challenge.eml", "TMDA challenge (\"Re: …\" from the C/R robot)", "machine",
        "Re: Server stops every night", "bob-confirm-1715650000.1234.abcdef@example.net",
        mail([("From", "bob-confirm-1715650000.1234.abcdef@example.net"), ("To", SUPPORT),
              ("Subject", "Re: Server stops every night"), *common("tmda1@example.net"),
              ("X-Delivery-Agent", "TMDA/1.1.12 (Ph3nix)"), ("Content-Type", "text/plain")],
             "This message was created automatically by mail delivery software.\n\nYour message has been held "
             "pending confirmation. To release it, reply to this message or visit the link below.\n"),
        family="challenge")
    add("challenge_response.eml", "challenge-response service answering as the person (\"RE: …\")", "machine",
        "RE: Server stops every night", "dave@example.net",
        mail([("From", "Dave Sample <dave@example.net>"), ("To", SUPPORT), ("Subject", "RE: Server stops every night"),
              *common("cr1@spamarrest.example"), ("Content-Type", "text/plain")],
             "Hello,\n\nI am protecting myself from receiving junk mail. Please click the link below to verify "
             "that you are a real person and complete the verification process. You only need to do this once.\n\n"
             "https://verify.spamarrest.example/confirm?id=1234\n\nThis is an automated challenge-response "
             "message.\n"), family="challenge")


def human() -> None:
    def person(name: str, what: str, headers: list[tuple[str, str | bytes]], body: str | bytes, subject: str,
               from_: str, *, contact: bool = True, family: str = "human") -> None:
        add(name, what, "human", subject, from_, mail(headers + common(name + "@example.test"), body),
            contact=contact, family=family)

    base = [("To", SUPPORT)]
    person("plain_contact.eml", "an ordinary customer mail", [("From", f"Alice Example <{CONTACT}>"), *base,
           ("Subject", "Server stops every night"), ("Content-Type", "text/plain; charset=utf-8")],
           "Our server stops every night at 02:00.\n", "Server stops every night", CONTACT)
    person("from_bare_words.eml", "From \"Test test@example.com\" (no angle brackets), no Return-Path",
           [("From", "Test test@example.com"), *base, ("Subject", "Test message")], "Hello, is this working?\n",
           "Test message", "test@example.com", contact=False, family="odd-from")
    person("from_x_angle_x.eml", "From \"x <x>\" (no address) with a Reply-To", [("From", "x <x>"), *base,
           ("Reply-To", f"Alice Example <{CONTACT}>"), ("Subject", "Licence renewal")], "When does it expire?\n",
           "Licence renewal", CONTACT, family="odd-from")
    person("no_from_sender.eml", "no From at all, a Sender", [("Sender", "Alice Example <alice@example.test>"), *base,
           ("Subject", "Licence question")], "Which plan do we have?\n", "Licence question", CONTACT, family="odd-from")
    person("no_from_no_fallback.eml", "no From, no Reply-To, no Sender (still human)", [*base,
           ("Subject", "Anonymous question")], "How do I reset the console?\n", "Anonymous question", "",
           contact=False, family="odd-from")
    person("from_comment_form.eml", "From \"addr (Name)\" comment form", [("From", "taro@example.co.jp (Taro Yamada)"),
           *base, ("Subject", "Backup fails")], "Backup fails with 0x5.\n", "Backup fails", "taro@example.co.jp",
           contact=False, family="odd-from")
    person("from_no_space.eml", "From \"Name<addr>\" without a space", [("From", "Taro Yamada<taro@example.co.jp>"),
           *base, ("Subject", "Agent update")], "The agent does not update.\n", "Agent update", "taro@example.co.jp",
           contact=False, family="odd-from")
    person("from_unbalanced_quote.eml", "From with an unbalanced quote", [("From", '"Broken <broken@example.test>'),
           *base, ("Subject", "Quote trouble")], "Hello.\n", "Quote trouble", "broken@example.test", contact=False,
           family="odd-from")
    person("from_jis_name.eml", "From with an ISO-2022-JP display name", [("From", bword("山田 太郎") +
           " <taro@example.co.jp>"), *base, ("Subject", bword("サーバーが停止します"))],
           "", "サーバーが停止します", "taro@example.co.jp", contact=False, family="odd-from")
    person("postmaster_person.eml", "a postmaster@ person writing normal mail",
           [("From", "Postmaster <postmaster@example.test>"), *base, ("Subject", "Question about our licence renewal"),
            ("Content-Type", "text/plain; charset=utf-8")],
           "Hello, I look after the mail server here. When does our licence expire?\n",
           "Question about our licence renewal", "postmaster@example.test")
    person("servicenow_notification.eml", "ServiceNow notification with Auto-Submitted (wanted as an incident)",
           [("From", "ServiceNow <servicenow@example.test>"), *base, ("Auto-Submitted", "auto-generated"),
            ("Subject", "INC0012345 Priority 2 - Mail gateway down assigned to Vendor Support"),
            ("X-ServiceNow-Generated", "true")],
           "Incident INC0012345 has been assigned to your group.\nShort description: Mail gateway down\n",
           "INC0012345 Priority 2 - Mail gateway down assigned to Vendor Support", "servicenow@example.test",
           family="notification")
    person("jira_notification.eml", "Jira notification with Auto-Submitted and Precedence: bulk (wanted)",
           [("From", "Bob (Jira) <jira@example.test>"), *base, ("Auto-Submitted", "auto-generated"),
            ("Precedence", "bulk"), ("X-JIRA-FingerPrint", "0123abcd"),
            ("Subject", "[JIRA] (OPS-42) Scanner crashes on start")],
           "Bob created OPS-42: Scanner crashes on start.\n", "[JIRA] (OPS-42) Scanner crashes on start",
           "jira@example.test", family="notification")
    person("list_mail_contact.eml", "a customer's team list copying support (List-Id, Precedence: list)",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Cc", "ops@lists.example.test"),
            ("List-Id", "Ops team <ops.lists.example.test>"), ("Precedence", "list"),
            ("List-Unsubscribe", "<mailto:ops-leave@lists.example.test>"), ("Subject", "[ops] Backup failed again")],
           "The nightly backup failed again with 0x5, vendor please help.\n", "[ops] Backup failed again", CONTACT,
           family="list")
    person("bulk_mail_contact.eml", "Precedence: bulk from a contact's reporting system",
           [("From", "Bob Example <bob@example.test>"), *base, ("Precedence", "bulk"),
            ("Subject", "Weekly scan report: 3 threats")], "3 threats were found.\n", "Weekly scan report: 3 threats",
           "bob@example.test", family="list")
    person("forwarded_bounce.eml", "a person forwarding a bounce (\"Fwd: Returned mail: …\")",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "Fwd: Returned mail: see transcript for details"),
            ("Content-Type", "text/plain; charset=utf-8")],
           "Our notices to Bob bounce, see below. Can you check?\n\n---------- Forwarded message ---------\n"
           "From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.com>\nSubject: Returned mail: see transcript "
           "for details\n\n   ----- The following addresses had permanent fatal errors -----\n<bob@example.com>\n"
           "    (reason: 550 5.1.1 User unknown)\n", "Fwd: Returned mail: see transcript for details", CONTACT,
           family="bounce-forwarded")
    person("human_undeliverable_question.eml", "a person asking about undeliverable mail",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "Undeliverable mail problem on our server")],
           "Since yesterday our server rejects mail with 550 5.1.1.\n", "Undeliverable mail problem on our server",
           CONTACT, family="human")
    person("human_out_of_office_words.eml", "a person writing about an out-of-office rule",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "Out of office replies are not sent")],
           "Our out of office replies stopped working after the update.\n", "Out of office replies are not sent",
           CONTACT)
    person("human_auto_reply_words.eml", "a person's subject starting with \"Auto reply\" words, no colon",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "Auto reply rules ignored by the filter")],
           "The filter ignores our auto reply rules.\n", "Auto reply rules ignored by the filter", CONTACT)
    person("latin1_q_word_8bit.eml", "raw 8-bit ISO-8859-1 inside a Q word declaring iso-8859-1",
           [("From", "Hans Frosch <hans@example.de>"), *base, ("Subject", b"=?iso-8859-1?Q?Fr\xf6sche_im_Teich?="),
            ("Content-Type", "text/plain; charset=iso-8859-1")], "Gr\xfc\xdfe\n".encode("latin-1"),
           "Frösche im Teich", "hans@example.de", contact=False, family="charset")
    person("latin1_bare_8bit.eml", "bare 8-bit Latin-1 subject, message charset iso-8859-1",
           [("From", "Hans Frosch <hans@example.de>"), *base, ("Subject", "Réunion à Zürich".encode("latin-1")),
            ("Content-Type", "text/plain; charset=iso-8859-1")], "Bonjour\n", "Réunion à Zürich", "hans@example.de",
           contact=False, family="charset")
    person("gb2312_bare_8bit.eml", "bare 8-bit GB2312 subject, message charset gb2312",
           [("From", "Li Wei <li@example.cn>"), *base, ("Subject", "服务器每晚停止".encode("gb2312")),
            ("Content-Type", "text/plain; charset=gb2312")], "服务器每晚停止。\n".encode("gb2312"), "服务器每晚停止",
           "li@example.cn", contact=False, family="charset")
    person("cp1252_q_word.eml", "windows-1252 Q word with the euro sign", [("From", "Hans Frosch <hans@example.de>"),
           *base, ("Subject", "=?windows-1252?Q?Rechnung_=80_120?=")], "Hallo\n", "Rechnung € 120", "hans@example.de",
           contact=False, family="charset")
    person("mixed_words.eml", "UTF-8 and ISO-2022-JP encoded words in one subject",
           [("From", f"Alice Example <{CONTACT}>"), *base,
            ("Subject", bword("Réunion ", "UTF-8") + " " + bword("サーバー停止"))], "Hello\n", "Réunion サーバー停止",
           CONTACT, family="charset")
    person("rfc2231_language_word.eml", "an encoded word with an RFC 2231 language tag",
           [("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "=?UTF-8*en?Q?Hello_there?=")], "Hi\n",
           "Hello there", CONTACT, family="charset")
    person("utf7_subject.eml", "raw UTF-7 subject in a UTF-7 message", [("From", "Hans Frosch <hans@example.de>"),
           *base, ("Subject", "Caf+AOk- au lait"), ("Content-Type", "text/plain; charset=utf-7")],
           "Caf+AOk-\n", "Café au lait", "hans@example.de", contact=False, family="charset")
    person("sjis_raw_subject.eml", "raw Shift_JIS subject from a phone", [("From", "taro@docomo.ne.jp"), *base,
           ("Subject", "ウイルス検知について".encode("cp932")), ("Content-Type", "text/plain; charset=Shift_JIS")],
           "よろしくお願いします\n".encode("cp932"), "ウイルス検知について", "taro@docomo.ne.jp", contact=False,
           family="charset")
    raw = mail([("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "BOM before the headers")]
               + common("bom@example.test"), "Hello\n")
    add("utf8_bom.eml", "UTF-8 byte-order mark before the first header", "human", "BOM before the headers", CONTACT,
        b"\xef\xbb\xbf" + raw, contact=True, family="structure")
    raw = mail([("From", f"Alice Example <{CONTACT}>"), *base, ("Subject", "Server stops"), ("", "every night"),
                ("X-Mailer", "Broken Mailer 1.0")] + common("unindented@example.test"), "Hello\n")
    add("unindented_continuation.eml", "a header continuation line that is not indented", "human",
        "Server stops every night", CONTACT, raw, contact=True, family="structure")
    raw = mail([("", "---- Original email message ----"), ("From", f"Alice Example <{CONTACT}>"), *base,
                ("Subject", "Forwarded from our old system")] + common("orig@example.test"), "Hello\n")
    add("original_message_first_line.eml", "\"---- Original email message ----\" before the headers", "human",
        "Forwarded from our old system", CONTACT, raw, contact=True, family="structure")


def main() -> None:
    for old in HERE.glob("*.eml"):
        old.unlink()
    ENTRIES.clear()
    bounces()
    auto_replies()
    human()
    (HERE / "manifest.json").write_text(json.dumps({"notice_message_id": OUR_NOTICE, "mails": ENTRIES},
                                                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(ENTRIES)} mails written to {HERE}")


if __name__ == "__main__":
    main()
