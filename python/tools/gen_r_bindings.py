"""Write the R package's wrappers from the core's public API; with --check, fail when the committed file differs.

Every public *function* in ``m2mauth.__all__`` (not classes, exceptions or ``__version__``) becomes
an R function ``m2m_<name>()`` in ``r-package/R/generated-bindings.R``, with roxygen docs taken
from its signature and docstring. Arguments keep the Python names (already snake_case and
dot-free, so R, rpy2 and the CLI share them); ``**credentials`` becomes ``...``; keyword-only
arguments come after ``...`` as in Python. Simple types are checked in R before Python starts;
the call goes through the hand-written ``m2m_call()`` (r-package/R/call.R), which converts
arguments, results and Python exceptions (into classed R conditions).

Run from anywhere:  python python/tools/gen_r_bindings.py [--check]
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import inspect
import json
import keyword
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import m2mauth  # noqa: E402

OUT = ROOT / "r-package" / "R" / "generated-bindings.R"
PREFIX = "m2m_"

#: DESIGN.md's R names that differ from the core's: alias -> core function. Written only when the
#: target is a public function at generation time.
ALIASES = {"token": "fetch_token"}

R_RESERVED = frozenset(
    {
        "if",
        "else",
        "repeat",
        "while",
        "function",
        "for",
        "next",
        "break",
        "TRUE",
        "FALSE",
        "NULL",
        "Inf",
        "NaN",
        "NA",
        "in",
    }
)

#: Descriptions of arguments that recur across the API; others are described by their Python type.
PARAM_DOCS = {
    "profile": 'A provider profile: a name shipped with m2mauth (`"clms"`, `"disruptive-technologies"`, '
    '`"openaire"`, `"climate-engine"`, `"cdse-openeo"`, `"generic"`), a path to a profile JSON '
    "file, or a named list.",
    "flow": "Name of the profile's flow to use; by default the flow follows from the credentials given.",
    "auth_method": "Client authentication where the provider offers several "
    '(`"client_secret_basic"`, `"client_secret_post"`, `"client_secret_jwt"`, `"private_key_jwt"`).',
    "timeout": "Seconds to wait for the token endpoint.",
    "session": "A Python `requests.Session` to send with (rarely needed from R).",
    "verify": "`TRUE`, or the path of a CA bundle to trust (TLS cannot be turned off).",
    "proxies": 'A named list of proxies, e.g. `list(https = "http://proxy:3128")`.',
    "clock": "A function returning the current time in seconds (for tests).",
    "jwt": "A compact JWT (`header.claims.signature`), e.g. the `assertion` a request sent.",
    "now": "The time to judge against, in seconds since 1970 (default: now).",
    "key": "A key: a path, PEM text (or raw bytes), a JWK/JWKS as a named list or JSON text, "
    "or a key object from [m2m_load_key()].",
    "token_url": "The token endpoint URL (overrides the profile's; needed for tests and mirrors).",
    "status": "The HTTP status of the answer, when `error_or_response` is its body.",
    "error_or_response": "What went wrong: an `m2mauth_error` condition, an httr2 response or httr2 HTTP "
    "error condition, a parsed body (named list), or the body text.",
    "claims": "The claim set, a named list. Whole numbers are sent as JSON integers and `POSIXct` times "
    "as seconds since 1970.",
    "alg": "The JWS algorithm; by default the key's own (RS256 for RSA, ES256 for P-256, HS256 for a secret). "
    "An algorithm that does not fit the key is refused.",
    "kid": "The JWS key id (`kid` header).",
    "headers": "Extra JWS header members, a named list (not `alg`).",
    "key_password": "The passphrase of an encrypted PEM key.",
    "store": "A token store from the core (`MemoryStore`, `FileStore`, `RedisStore`).",
    "prompt": "A function that receives the device authorization (verification URI, user code, complete URI).",
    "sleep": "A function that waits a number of seconds (for tests).",
    "progress": "A Python text stream for progress messages (default: standard error).",
    "issuer": "The `iss` claim.",
    "audience": "The `aud` claim: the token endpoint URL (one string, or several).",
    "subject": "The `sub` claim.",
    "lifetime": "Seconds between `iat` and `exp`.",
    "max_lifetime": "The provider's cap on `exp - iat`; a longer lifetime is refused.",
    "jti": "The `jti` claim (a unique id).",
    "with_jti": "Whether to add a fresh `jti`.",
    "not_before": "Whether to add `nbf` (equal to `iat`).",
    "extra_claims": "More claims, a named list, appended after the registered ones.",
    "typ": 'The `typ` header (`NULL` leaves the core\'s default, `"JWT"`).',
    "jti_source": "A function returning a fresh `jti` (for reproducible requests).",
    "environ": "Environment variables to read missing credentials from, a named list "
    "(default: the process environment; `list()` reads none).",
    "basic_encoding": 'How `client_secret_basic` encodes id and secret: `"rfc"` (RFC 6749) or `"raw"`.',
    "request": "A token request object, e.g. `m2m_plan_request(...)$request`.",
    "default_lifetime": "Seconds a token is taken to live when the server says nothing.",
    "value": "A path, JSON text or a named list.",
    "password": "The passphrase of an encrypted PEM key.",
    "secret": "The shared secret, text or raw bytes.",
    "body": "The body of the answer, text or raw bytes.",
    "content_type": "The `Content-Type` of the answer.",
    "url": "The URL the answer came from (used in messages).",
}

#: Where an argument means something else in one function: (function, argument) -> description.
PARAM_DOCS_BY_FUNCTION = {
    ("discover", "issuer"): "The OpenID Connect issuer URL (the part before `/.well-known/openid-configuration`).",
    ("make_assertion", "key"): "The signing key, from [m2m_load_key()] or [m2m_secret_key()].",
    ("parse_token_response", "status"): "The HTTP status of the answer.",
    ("load_key", "password"): "The passphrase of an encrypted PEM key.",
}

RETURN_DOCS = {
    "Token": "An `m2mauth_token`: `access_token`, `token_type`, `expires_at` (`POSIXct`, UTC), "
    "`refresh_token`, `scope`. It prints redacted.",
    "Diagnosis": "An `m2mauth_diagnosis`: `ok`, `header`, `claims` and `findings` (a data frame with "
    "`code`, `severity`, `message`, `hint`). It prints each finding with its fix.",
    "Explanation": "An `m2mauth_explanation`: `code`, `message`, `hint` (the fix), `status`, `error`, "
    "`error_description`.",
    "str": "A string.",
    "bool": "`TRUE` or `FALSE`.",
    "list[str]": "A character vector.",
    "dict[str, Any]": "A named list.",
}

#: Usage examples shown on the help pages of the names DESIGN.md lists (never run by R CMD check).
EXAMPLES = {
    "fetch_token": [
        'token <- m2m_token("clms", service_key = "~/land-copernicus.json")',
        "token  # prints redacted",
        'req <- httr2::request("https://land.copernicus.eu/api/@search")',
        'resp <- httr2::req_perform(req_auth_m2m(req, "clms", service_key = "~/land-copernicus.json"))',
    ],
    "inspect": [
        'grant <- readLines("grant.txt")  # the assertion a request sent',
        'm2m_inspect(grant, "clms")',
    ],
    "explain": [
        "resp <- tryCatch(httr2::req_perform(req), httr2_http = function(cnd) cnd)",
        'm2m_explain(resp, "clms")',
        'm2m_explain(list(error = "invalid_request", error_description = "Missing \'grant_type\'"), "clms")',
    ],
    "sign_jwt": [
        'key <- jsonlite::read_json("~/land-copernicus.json")',
        "claims <- list(iss = key$client_id, sub = key$user_id, aud = key$token_uri,",
        "               iat = Sys.time(), exp = Sys.time() + 3600)",
        "m2m_sign_jwt(claims, key$private_key)  # RS256, chosen from the RSA key",
    ],
    "login": ['token <- m2m_login("cdse-openeo", client_id = "my-public-client")'],
}


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str  # "string", "int", "number", "flag", "flag_or_string", "strings", "string_or_raw", "mapping", "any"
    nullable: bool
    default: str | None  # R source of the default; None when the argument is required
    annotation: str
    python_default: str | None
    keyword_only: bool


@dataclass(frozen=True)
class Binding:
    name: str  # the core's name
    args: tuple[Arg, ...]
    dots: str | None  # the name of **kwargs, if any
    doc: str
    returns: str


def split_top_level(annotation: str) -> list[str]:
    """``a | b[c | d] | None`` -> ``["a", "b[c | d]", "None"]``."""
    parts, depth, current = [], 0, ""
    for char in annotation:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def kind_of(annotation: str) -> tuple[str, bool]:
    parts = split_top_level(annotation)
    nullable = "None" in parts
    rest = {p for p in parts if p != "None"}
    simple = {
        frozenset({"str"}): "string",
        frozenset({"int"}): "int",
        frozenset({"float"}): "number",
        frozenset({"bool"}): "flag",
        frozenset({"bool", "str"}): "flag_or_string",
        frozenset({"str", "list[str]"}): "strings",
        frozenset({"bytes", "str"}): "string_or_raw",
    }
    kind = simple.get(frozenset(rest))
    if kind is None and rest and all(p.startswith(("Mapping[", "dict[")) for p in rest):
        kind = "mapping"
    return kind or "any", nullable


def annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "Any"
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def r_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def r_default(value: Any) -> str | None:
    """The R source for a Python default, or None when R cannot spell it (then NULL = the core's default)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:g}"
        return text if float(text) == value else repr(value)
    if isinstance(value, str):
        return r_string(value)
    return None


def check_name(name: str, where: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in R_RESERVED or keyword.iskeyword(name):
        raise SystemExit(f"{where}: argument {name!r} cannot be an R argument name (snake_case, dot-free)")


def describe(function: Callable[..., Any], name: str) -> Binding:
    signature = inspect.signature(function)
    args: list[Arg] = []
    dots = None
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise SystemExit(f"m2mauth.{name}: *{param.name} has no R equivalent; use keyword arguments")
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            dots = param.name
            continue
        check_name(param.name, f"m2mauth.{name}")
        annotation = annotation_text(param.annotation)
        kind, nullable = kind_of(annotation)
        if param.default is inspect.Parameter.empty:
            default, python_default = None, None
        else:
            python_default = "None" if param.default is None else repr(param.default)
            default = r_default(param.default)
            if default is None:  # a callable or object: NULL lets the core use its own default
                default, nullable = "NULL", True
            elif default == "NULL":
                nullable = True
        args.append(
            Arg(
                param.name,
                kind,
                nullable,
                default,
                annotation,
                python_default,
                param.kind is inspect.Parameter.KEYWORD_ONLY,
            )
        )
    returns = annotation_text(signature.return_annotation)
    return Binding(name, tuple(args), dots, inspect.getdoc(function) or "", returns)


def defined_as_class(name: str) -> bool:
    """Whether ``name`` is a class in its module's source (for names whose module cannot be imported
    here, e.g. HttpxAuth without httpx): read with ast, so the output never depends on extras."""
    exports: dict[str, str] = getattr(m2mauth, "_EXPORTS", {})
    module = exports.get(name)
    spec = importlib.util.find_spec(f"m2mauth.{module}") if module else None
    if spec is None or spec.origin is None:
        raise SystemExit(f"m2mauth.{name} cannot be imported or located; cannot generate its binding")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return False
    raise SystemExit(f"m2mauth.{name} is not defined in {spec.origin}")


def public_functions() -> list[Binding]:
    bindings = []
    for name in m2mauth.__all__:
        if name.startswith("__"):
            continue
        try:
            value = getattr(m2mauth, name)
        except ImportError:
            if defined_as_class(name):
                continue
            raise SystemExit(f"m2mauth.{name} is a function but cannot be imported here") from None
        if inspect.isclass(value) or not inspect.isfunction(value):
            continue
        bindings.append(describe(value, name))
    return bindings


# -- docs -------------------------------------------------------------------------------------


def rd_text(text: str) -> str:
    """Docstring text -> Rd: RST ``code`` and markdown `code` -> \\code{}, [fn()] -> a link, specials escaped."""
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    text = re.sub(r":(?:func|class|meth|attr):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("\\", "\\\\").replace("%", "\\%").replace("{", "\\{").replace("}", "\\}")
    text = re.sub(r"\[(\w+)\(\)\]", r"\\code{\\link{\1}()}", text)
    text = re.sub(r"\[(m2m\w+)\]", r"\\link{\1}", text)
    return re.sub(r"`([^`]+)`", r"\\code{\1}", text)


def doc_lines(binding: Binding) -> list[str]:
    paragraphs = [p.strip() for p in binding.doc.split("\n\n") if p.strip()]
    paragraphs = [
        "\n".join(line for line in p.splitlines() if not line.lstrip().startswith(">>>")).strip() for p in paragraphs
    ]
    paragraphs = [" ".join(p.split()) for p in paragraphs if p]
    first = paragraphs[0] if paragraphs else f"Call m2mauth.{binding.name}()"
    sentence = re.split(r"(?<=[.:;])\s", first, maxsplit=1)
    title = sentence[0].rstrip(".:;")
    description = [p for p in paragraphs if p.rstrip(".:;") != title]
    lines = [f"#' {rd_text(title)}", "#'"]
    for paragraph in description:
        lines.append(f"#' {rd_text(paragraph)}")
        lines.append("#'")
    generated = (
        f"Generated from the Python core's `m2mauth.{binding.name}()`: same arguments, same defaults. "
        "Errors are classed R conditions (see [m2mauth_error])."
    )
    lines.append(f"#' {rd_text(generated)}")
    lines.append("#'")
    for arg in binding.args:
        text = PARAM_DOCS_BY_FUNCTION.get((binding.name, arg.name)) or PARAM_DOCS.get(
            arg.name, f"See the core's `m2mauth.{binding.name}()`."
        )
        python = f"`{arg.annotation}`"
        if arg.python_default is not None:
            python += f", default `{arg.python_default}`"
        lines.append(f"#' @param {arg.name} {rd_text(text)} (Python: {rd_text(python)}.)")
    if binding.dots:
        names = ", ".join(f"`{n}`" for n in credential_names())
        dots = (
            f"Credentials, by name: {names}. They are the core's `**{binding.dots}` keywords; missing ones are "
            "read from the provider's environment variables, then `M2MAUTH_<NAME>`."
        )
        lines.append(f"#' @param ... {rd_text(dots)}")
    returns = RETURN_DOCS.get(binding.returns.strip("'\""))
    if returns is None:
        returns = f"The core's `{binding.returns}`, a Python object (read its fields with `$`)."
    lines.append(f"#' @return {rd_text(returns)}")
    if binding.name in EXAMPLES:
        lines.append("#' @examples")
        lines.append("#' \\dontrun{")
        lines.extend(f"#' {line}" for line in EXAMPLES[binding.name])
        lines.append("#' }")
    lines.append("#' @export")
    return lines


def credential_names() -> list[str]:
    from m2mauth.credentials import CREDENTIAL_NAMES

    return list(CREDENTIAL_NAMES)


# -- code -------------------------------------------------------------------------------------


def formals(binding: Binding) -> str:
    parts = []
    dots_done = binding.dots is None
    for arg in binding.args:
        if arg.keyword_only and not dots_done:
            parts.append("...")
            dots_done = True
        parts.append(arg.name if arg.default is None else f"{arg.name} = {arg.default}")
    if not dots_done:
        parts.append("...")
    return ", ".join(parts)


def body(binding: Binding) -> list[str]:
    lines = []
    if binding.dots:
        lines.append("  check_dots_named(...)")
    for arg in binding.args:
        if arg.kind != "any":
            null = ", null_ok = TRUE" if arg.nullable else ""
            lines.append(f'  check_arg({arg.name}, "{arg.kind}", "{arg.name}"{null})')
    values = ", ".join(f"{a.name} = {a.name}" for a in binding.args)
    args = f"list({values})"
    if binding.dots:
        args = f"c({args}, list(...))" if binding.args else "list(...)"
    kinds = ", ".join(f'{a.name} = "{a.kind}"' for a in binding.args if a.kind != "any")
    lines.append(f'  m2m_call("{binding.name}", {args}, kinds = c({kinds}))')
    return lines


def wrap_call(text: str, indent: str = "  ", width: int = 100) -> list[str]:
    if len(text) <= width:
        return [text]
    out, line = [], ""
    for token in re.split(r"(?<=, )", text):
        if line and len(line) + len(token) > width:
            out.append(line.rstrip())
            line = indent + "  "
        line += token
    out.append(line.rstrip())
    return out


def render(bindings: list[Binding]) -> str:
    version = m2mauth.__version__
    out = [
        "# Generated by python/tools/gen_r_bindings.py from the m2mauth core "
        f"{version} (m2mauth.__all__): do not edit by hand.",
        "# Regenerate: python python/tools/gen_r_bindings.py   Compare: python python/tools/gen_r_bindings.py --check",
        "# Every public function of the core becomes m2m_<name>(); the call goes through m2m_call() (R/call.R).",
        "",
    ]
    by_name = {b.name: b for b in bindings}
    for binding in bindings:
        r_name = PREFIX + binding.name
        out.extend(doc_lines(binding))
        out.extend(wrap_call(f"{r_name} <- function({formals(binding)}) {{"))
        for line in body(binding):
            out.extend(wrap_call(line))
        out.append("}")
        out.append("")
        for alias, target in ALIASES.items():
            if target == binding.name and target in by_name:
                out.append(f"#' @rdname {r_name}")
                out.append("#' @export")
                out.append(f"{PREFIX}{alias} <- {r_name}")
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    parser.add_argument("--file", type=Path, default=OUT, help=f"the R file (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    out: Path = args.file
    text = render(public_functions())
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    if args.check:
        if old == text:
            print(f"{out} is up to date")
            return 0
        print(f"DRIFT {out}: regenerate with python python/tools/gen_r_bindings.py")
        diff = difflib.unified_diff(old.splitlines(True), text.splitlines(True), "committed", "generated", n=1)
        sys.stdout.writelines(list(diff)[:60])
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    if old != text:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
