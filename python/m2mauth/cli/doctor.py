"""``m2mauth doctor``: run the checklist of :mod:`m2mauth.doctor` and print it."""

from __future__ import annotations

import argparse
import sys

from .common import (
    DOCTOR_TIMEOUT,
    EXIT_FAILED,
    EXIT_OK,
    Console,
    UsageError,
    can_encode,
    cli_words,
    credentials_from,
    dumps,
    read_stdin_all,
    timeout_from,
)


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from ..doctor import run_doctor

    if args.json_body and not args.send:
        raise UsageError("--json-body needs --send (it says how the grant is sent)")
    if args.send and args.jwt is None:
        raise UsageError("--send needs --jwt (the grant to send); without --jwt doctor tries the exchange itself")
    jwt = args.jwt
    if jwt == "-":
        jwt = read_stdin_all("--jwt")
    credentials = credentials_from(args, console, stdin_taken="--jwt" if args.jwt == "-" else None)
    report = run_doctor(
        args.profile,
        jwt=jwt,
        send=args.send,
        json_body=args.json_body,
        flow=args.flow,
        auth_method=args.auth_method,
        basic_encoding=args.basic_encoding,
        try_exchange=not args.no_exchange,
        timeout=timeout_from(args, DOCTOR_TIMEOUT),
        **credentials,
    )
    # The checks' fixes are written for Python callers (key_id=); here they name the CLI's options (--key-id).
    if args.json:
        data = report.to_dict()
        for check in data["checks"]:
            check["message"] = cli_words(check["message"])
            check["fix"] = cli_words(check["fix"]) if check["fix"] else check["fix"]
            check["notes"] = [cli_words(note) for note in check["notes"]]
        console.out(dumps(data))
    else:
        console.out(cli_words(report.render(ascii_only=not can_encode(sys.stdout, "✓✗·—§"))))
    return EXIT_OK if report.ok else EXIT_FAILED
