"""``python -m rlkd.train [--preset NAME] key=value ...``: one training run, no Ray.

Examples:
  python -m rlkd.train --preset quickstart                      # embedded digits data, minutes on CPU
  python -m rlkd.train --preset short data.root=/path/to/cifar100_npz model.teacher_checkpoint=/path/t.pt
  python -m rlkd.train --preset quickstart policy.name=fixed     # the fixed-T KD baseline
"""
from __future__ import annotations

import argparse
import json
import sys

from omegaconf import OmegaConf

from rlkd.config import RunConfig, build_config, to_dict
from rlkd.errors import RLKDError
from rlkd.presets import load_preset, preset_names


def print_epoch(trainer, record: dict) -> None:
    temp = f" T={record['temp/mean']:.2f}±{record['temp/std']:.2f}" if "temp/mean" in record else ""
    print(f"epoch {record['epoch']:>3}  train acc {record['train/acc']:6.2f}  test acc {record['test/acc']:6.2f}"
          f"  best {record['test/best_acc']:6.2f}{temp}  ({record['epoch_time_s']:.1f}s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlkd.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None, help=f"one of: {', '.join(preset_names())}")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. optim.epochs=5 (keys: --print-config)")
    args = parser.parse_args(argv)
    try:
        cfg = build_config(args.overrides, load_preset(args.preset) if args.preset else None)
        if args.print_config:
            print(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
            return 0
        from rlkd.trainer import Trainer  # heavy imports only once the config is known to be good

        trainer = Trainer(cfg, callbacks=[print_epoch])
        if trainer.epoch:
            print(f"resuming {cfg.out_dir}/last.pt after epoch {trainer.epoch}", flush=True)
        summary = trainer.fit()
    except RLKDError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"out_dir": cfg.out_dir, **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
