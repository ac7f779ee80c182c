"""YAML 1.2's core schema for plain scalars, as editors (yaml-language-server) read them.

PyYAML resolves plain scalars by YAML 1.1 (`5e-1` text, `010` octal, `1:30` base 60, `yes` true);
a storyboard must mean to seqc what it means to the editor that checks it against the schema, so
seqc's loaders (seqc.spec.yamlload) resolve by these rules instead.
"""

from __future__ import annotations

import re

import yaml

TAG = "tag:yaml.org,2002:"
# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), as editors read plain scalars.
NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
FLOAT_RE = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
NONFINITE_RE = re.compile(r"^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$")
TRUE = {"true", "True", "TRUE"}
FALSE = {"false", "False", "FALSE"}


def is_number_text(text: str) -> bool:
    """Whether YAML 1.2 reads `text`, written without quotes, as a finite number (`15`, `0.5`, `5e-1`)."""
    return bool(INT_RE.match(text) or FLOAT_RE.match(text)) and not NONFINITE_RE.match(text)


class CoreResolver(yaml.resolver.BaseResolver):
    """Tags of plain scalars by YAML 1.2's core schema, in place of PyYAML's YAML 1.1 resolver.

    What an editor shows is what seqc reads: `5e-1` and `1e0` are numbers (text in YAML 1.1), `010`
    is 10 (8 in YAML 1.1), `0o17` and `0x1f` are numbers, `1_000` and `0b101` are text; `yes`, `on`,
    `1:30` (90 in YAML 1.1) and dates are text. `<<` stays a merge key so it can be refused by name.
    """


for _name, _regexp, _first in (
    ("bool", BOOL_RE, "tTfF"),
    ("int", INT_RE, "-+0123456789"),
    ("float", FLOAT_RE, "-+.0123456789"),
    ("null", NULL_RE, ["~", "n", "N", ""]),
    ("merge", re.compile(r"^<<$"), "<"),
):
    CoreResolver.add_implicit_resolver(TAG + _name, _regexp, list(_first))
