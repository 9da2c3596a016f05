"""Run an RLKD sweep on Ray: a grid over an ablation's rows and seeds, or an Optuna search, tracked in MLflow.

  python run_sweep.py                                          # baseline, quickstart preset, local Ray + MLflow
  python run_sweep.py ablation=exploration seeds=3             # a table: rows x seeds
  python run_sweep.py search=rlkd trials=20 asha=true          # Optuna TPE over spec section 7's knobs
  python run_sweep.py ablation=exploration workers=2 optim.epochs=5
  python run_sweep.py preset=paper data.root=/data/cifar100_npz model.teacher_checkpoint=/w/resnet56.pt \
      ray.address=auto mlflow.tracking_uri=http://HEAD_IP:5000 gpus_per_worker=1 driver_resources={TRAIN_DRIVER:0.01}

Options are in conf/config.yaml (Hydra composition, no working-directory change); any run-config key
(optim.epochs=5, agent.clip_eps=0.15, ...) applies to every trial. Rerunning the same command resumes an
interrupted sweep. All logic lives in rlkd_platform/.
"""
import sys

from rlkd_platform.driver.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
