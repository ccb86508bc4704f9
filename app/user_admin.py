"""`worklist-console users …`: the users file of `serve --users`, kept from a shell."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from app.server.users import Users, UsersFileError


def default_users_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path("worklist-console", appauthor=False) / "users.toml"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UsersFileError("The two passwords differ; nothing was changed.")
    return first


def _der(pem_file: str) -> bytes:
    import ssl

    try:
        text = Path(pem_file).read_text(encoding="ascii")
        return ssl.PEM_cert_to_DER_cert(text[text.index("-----BEGIN CERTIFICATE-----") :])
    except OSError as exc:
        raise UsersFileError(f"Cannot read the certificate {pem_file}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise UsersFileError(f"{pem_file} holds no PEM certificate.") from None


def main(args: argparse.Namespace) -> int:
    path = Path(args.users_file) if args.users_file else default_users_file()
    try:
        users = Users.load(path) if path.exists() else Users()
        if args.users_action == "list":
            if not users.users:
                print(f"{path} has no users.")
            for name, user in sorted(users.users.items()):
                tokens = sum(1 for token in users.tokens.values() if token.user == name)
                aes = ", ".join(user.aes) or "any AE title"
                print(f"{name}: {user.role}, {aes}; {tokens} token{'s' if tokens != 1 else ''}")
            return 0
        if args.users_action == "add":
            users.add(args.name, _password(args.password_stdin), args.ae, args.role)
            users.save(path)
            print(f"User {args.name} ({users.users[args.name].role}) saved in {path}.")
        elif args.users_action == "token":
            token = users.new_token(args.name, args.ae)
            users.save(path)
            print(token)
            print(f"A token for {args.name}, saved (as a hash) in {path}; it is shown only now.", file=sys.stderr)
        elif args.users_action == "certificate":
            fingerprint = users.add_certificate(args.name, _der(args.pem))
            users.save(path)
            print(f"The holder of the certificate SHA-256 {fingerprint} is now {args.name} over DICOM TLS.")
        elif args.users_action == "remove":
            users.remove(args.name)
            users.save(path)
            print(f"User {args.name} and its tokens removed from {path}.")
    except UsersFileError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"Cannot write the users file {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
