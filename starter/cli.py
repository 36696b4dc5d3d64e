"""``python -m starter``: the operators' and scripts' command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provider.wire import encode

from .simulate import HELP as SIMULATE_HELP
from .simulate import SimulationInputError, load_json_file, load_product, simulate

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_REFUSED_BY_RULES = 3


def _simulate(args: argparse.Namespace) -> int:
    try:
        product = load_product(args.product)
        payload = load_json_file(args.request, "request")
        body, violations = simulate(payload, product)
    except SimulationInputError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(encode(body).decode() + "\n")
    for violation in violations:
        print(f"refused by product rule: {violation.field}: {violation.message} ({violation.source})", file=sys.stderr)
    return EXIT_REFUSED_BY_RULES if violations else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m starter", description="INSS payroll loans: operator commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    simulate_cmd = commands.add_parser(
        "simulate",
        help="price a simulation request locally (provider-shaped JSON)",
        description=SIMULATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate_cmd.add_argument("request", type=Path, metavar="REQUEST.json")
    simulate_cmd.add_argument("--product", type=Path, metavar="PRODUCT.json")
    simulate_cmd.set_defaults(handler=_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    return int(handler(args))
