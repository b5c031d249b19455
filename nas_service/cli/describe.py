"""``stagewise-nas describe --depths 9-9-9`` (``python -m nas_service.describe``): the size of an
architecture, as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from nas_service.config import OneLineParser
from trainables.module_types import MODULE_TYPES
from trainables.spec import ArchSpec, parse_depths

PROG = "python -m nas_service.describe"
SLOW_TO_BUILD = 1000  # modules: building and timing more takes minutes on a CPU


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = OneLineParser(prog=prog, description="Depth, parameters, MACs, memory and CPU latency "
                                                  "of an architecture.")
    parser.add_argument("--depths", required=True, help="modules per stage, e.g. 9-9-9")
    parser.add_argument("--module", default="basic", choices=sorted(MODULE_TYPES))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--in-channels", type=int, default=3)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--no-latency", action="store_true", help="skip the CPU latency timing")
    args = parser.parse_args(argv)
    try:
        depths = parse_depths(args.depths)
        spec = ArchSpec(depths=depths, module=args.module, in_channels=args.in_channels,
                        image_size=args.image_size,
                        num_classes=args.num_classes)
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    from trainables.metrics.architecture import describe_spec  # torch, once the flags are good
    from trainables.metrics.costs import estimated_size

    if sum(spec.depths) > SLOW_TO_BUILD:
        size = estimated_size(spec)
        print(f"{prog}: warning: {sum(spec.depths)} modules take minutes to build and time; "
              f"without building: {size['macs']:.4g} MACs, {size['params']:.4g} params",
              file=sys.stderr, flush=True)
    print(json.dumps({**describe_spec(spec, latency=not args.no_latency), "spec": spec.to_dict()}, indent=2))
    return 0

