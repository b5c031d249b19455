"""``stagewise-nas describe --depths 9-9-9``: the size of an
architecture, as JSON.

A network of more than ``MANY_MODULES`` modules takes minutes to build and time on a CPU (and
may not fit in memory): its MACs and parameters are then estimated without building it
(``trainables.metrics.costs.estimated_size``, exact for these networks), unless ``--build``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from nas_service.cli.arguments import OneLineParser
from nas_service.limits import MANY_MODULES
from trainables.module_types import MODULE_TYPES
from trainables.spec import ArchSpec, min_image_size, parse_depths

PROG = "stagewise-nas describe"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = OneLineParser(
        prog=prog, description="Depth, parameters, MACs, memory and CPU latency of an architecture."
    )
    parser.add_argument("--depths", required=True, help="modules per stage, e.g. 9-9-9")
    parser.add_argument("--module", default="basic", choices=sorted(MODULE_TYPES))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--in-channels", type=int, default=3)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--no-latency", action="store_true", help="skip the CPU latency timing")
    parser.add_argument(
        "--build",
        action="store_true",
        help=f"build and measure a network of "
        f"more than {MANY_MODULES} modules too (default: estimate its size)",
    )
    args = parser.parse_args(argv)
    try:
        depths = parse_depths(args.depths)
        smallest = min_image_size(len(depths))
        checks = [
            (
                "image-size",
                args.image_size,
                args.image_size >= smallest,
                f"{len(depths)} stages need images of at least {smallest}x{smallest}",
            ),
            ("in-channels", args.in_channels, args.in_channels >= 1, "must be at least 1"),
            ("num-classes", args.num_classes, args.num_classes >= 2, "must be at least 2"),
        ]
        for flag, value, holds, what in checks:
            if not holds:
                raise ValueError(f"--{flag} {value}: {what}")
        spec = ArchSpec(
            depths=depths,
            module=args.module,
            in_channels=args.in_channels,
            image_size=args.image_size,
            num_classes=args.num_classes,
        )
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    from trainables.metrics.architecture import describe_spec  # torch, once the flags are good
    from trainables.metrics.costs import estimated_size

    if sum(spec.depths) > MANY_MODULES and not args.build:
        print(
            f"{prog}: note: {sum(spec.depths)} modules take minutes to build; MACs and params "
            "estimated without building it (no memory or latency; --build measures them)",
            file=sys.stderr,
            flush=True,
        )
        measured = {
            "depths": spec.depths_text,
            "depth": spec.depth,
            "estimated": True,
            **{key: int(value) for key, value in estimated_size(spec).items()},
        }
    else:
        measured = describe_spec(spec, latency=not args.no_latency)
    print(json.dumps({**measured, "spec": spec.to_dict()}, indent=2))
    return 0
