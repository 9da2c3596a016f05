"""Rebuild a paper table from the MLflow tracking store alone, with the paper's numbers beside ours.

Runs are found by tags (``rlkd.ablation``, ``rlkd.sweep``, ``rlkd.row``, ``rlkd.seed``), so a second machine
pointed at the same tracking server gets the same table. A cell is ours as mean ± std over seeds (n stated)
of the best-epoch and the last-epoch test top-1, the paper's value where it could be read ("?" otherwise),
a peer-reported baseline where one applies (labelled), and ours − paper.
"""
from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlkd.errors import RLKDError
from rlkd_platform.report.tables import AblationTable, load_table

BEST, LAST = "test/best_acc", "test/acc"
PAPER_DATA = ("cifar100", "cifar100_npz")  # the data sets the paper's tables are measured on (CIFAR-100 loaders)


@dataclass
class Cell:
    row: str
    column: str
    best: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)

    @staticmethod
    def fmt(values: list[float]) -> str:
        if not values:
            return "—"
        if len(values) == 1:  # one seed: no spread to state (n says so)
            return f"{values[0]:.2f}"
        return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


@dataclass
class Report:
    table: AblationTable
    sweep: str
    cells: dict[tuple[str, str], Cell]
    data: list[str] = field(default_factory=list)  # data.name of the runs (their logged params)

    @property
    def comparable(self) -> bool:
        """Whether ours − paper means anything: not for a quickstart on the digits against CIFAR-100 numbers."""
        return bool(self.data) and all(name in PAPER_DATA for name in self.data)

    def rows(self) -> list[dict[str, str]]:
        """One line per (row, column) cell: what the markdown and CSV both show."""
        out = []
        for row in self.table.rows:
            for column in self.table.column_names():
                cell = self.cells.get((row, column), Cell(row, column))
                paper = self.table.paper_value(row, column)
                peer = self.table.peer_value(row, column)
                mean_best = statistics.mean(cell.best) if cell.best else None
                out.append({
                    "row": row, "column": column, "n": str(len(cell.best)),
                    "ours best-epoch top-1": Cell.fmt(cell.best), "ours last-epoch top-1": Cell.fmt(cell.last),
                    "paper": "?" if paper is None else f"{paper:.2f}",
                    "peer-reported": "" if peer is None else f"{peer[0]:.2f} ({peer[1]})",
                    "ours − paper": "" if paper is None or mean_best is None or not self.comparable
                    else f"{mean_best - paper:+.2f}",
                })
        return out

    def data_note(self) -> list[str]:
        if self.comparable:
            return []
        return ["", f"Ours ran on {', '.join(self.data) or 'unknown data'}, the paper's values are CIFAR-100: "
                    "no ours − paper is computed."]

    def markdown(self) -> str:
        lines = self.rows()
        header = list(lines[0])
        md = [f"### {self.table.title}", "", f"Sweep `{self.sweep}`; ours = mean ± std over n seeds; "
              "no ± with one seed; papers in this field report the best epoch. Source of the paper's values: "
              + self.table.source, *self.data_note(), "",
              "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(line[h] for h in header) + " |" for line in lines]
        return "\n".join(md) + "\n"

    def csv(self) -> str:
        buf = io.StringIO()
        lines = self.rows()
        writer = csv.DictWriter(buf, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
        return buf.getvalue()

    def figure(self):
        """Bars: ours (best epoch, mean ± std); diamonds: the paper's values where known."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        labels, means, stds, papers = [], [], [], []
        for line_row in self.table.rows:
            for column in self.table.column_names():
                cell = self.cells.get((line_row, column), Cell(line_row, column))
                labels.append(line_row if column == self.table.single_column else f"{line_row}\n{column}")
                means.append(statistics.mean(cell.best) if cell.best else 0.0)
                stds.append(statistics.stdev(cell.best) if len(cell.best) > 1 else 0.0)
                papers.append(self.table.paper_value(line_row, column))
        fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(labels)), 3.6))
        xs = range(len(labels))
        ax.bar(xs, means, yerr=stds, capsize=3, color="#4c72b0", label="ours (best epoch)")
        known = [(x, p) for x, p in zip(xs, papers) if p is not None]
        if known:
            ax.scatter([x for x, _ in known], [p for _, p in known], marker="D", color="#dd8452", zorder=3,
                       label="paper")
        ax.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("test top-1 (%)")
        ax.set_title(self.table.title, fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def latest_sweep(client: Any, experiment_id: str, ablation: str) -> str:
    parents = client.search_runs([experiment_id], filter_string=f"tags.`rlkd.ablation` = '{ablation}' and "
                                 "tags.`rlkd.role` = 'sweep'", order_by=["attributes.start_time DESC"], max_results=1)
    if not parents:
        raise RLKDError(f"no sweep of ablation '{ablation}' in the tracking store: run "
                        f"`python run_sweep.py ablation={ablation}` first (or point mlflow.tracking_uri at its store)")
    return parents[0].data.tags["rlkd.sweep"]


def build_report(tracking_uri: str, ablation: str, experiment: str | None = None,
                 sweep: str | None = None) -> tuple[Report, Any, str]:
    """(report, MLflow client, parent run id of the sweep): everything read from the tracking store."""
    from mlflow.tracking import MlflowClient

    table = load_table(ablation)
    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment or table.name)
    if exp is None:
        raise RLKDError(f"no MLflow experiment '{experiment or table.name}' at {tracking_uri}: run "
                        f"`python run_sweep.py ablation={ablation}` first, or set mlflow.tracking_uri to its store")
    sweep = sweep or latest_sweep(client, exp.experiment_id, table.name)
    runs = client.search_runs([exp.experiment_id], max_results=10000,
                              filter_string=f"tags.`rlkd.ablation` = '{table.name}' and tags.`rlkd.sweep` = '{sweep}'")
    parent = next((r for r in runs if r.data.tags.get("rlkd.role") == "sweep"), None)
    trials = [r for r in runs if r.data.tags.get("rlkd.role") != "sweep"]
    if not trials:
        raise RLKDError(f"sweep '{sweep}' of ablation '{ablation}' has no trial runs yet: "
                        f"run `python run_sweep.py ablation={ablation}` (the same command resumes it)")
    running = [r.info.run_name for r in trials if r.info.status in ("RUNNING", "SCHEDULED")]
    if running:
        raise RLKDError(f"{len(running)} run(s) of sweep '{sweep}' are still running ({', '.join(running[:3])}): "
                        "wait for the sweep to end, or resume it with the same run_sweep.py command")
    cells: dict[tuple[str, str], Cell] = {}
    for run in trials:
        if run.info.status != "FINISHED" or BEST not in run.data.metrics:
            continue
        row, column = table.split_cell(run.data.tags.get("rlkd.row", ""))
        cell = cells.setdefault((row, column), Cell(row, column))
        cell.best.append(run.data.metrics[BEST])
        cell.last.append(run.data.metrics[LAST])
    data = sorted({r.data.params.get("data.name", "unknown") for r in trials})
    return Report(table, sweep, cells, data), client, parent.info.run_id if parent else ""


def write_report(report: Report, out_dir: Path, client: Any = None, parent_run_id: str = "") -> dict[str, Path]:
    """Markdown, CSV and plot under ``out_dir``; also logged to the sweep's parent run when one is given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"table-{report.table.name}"
    paths = {"markdown": out_dir / f"{stem}.md", "csv": out_dir / f"{stem}.csv", "plot": out_dir / f"{stem}.png"}
    paths["markdown"].write_text(report.markdown())
    paths["csv"].write_text(report.csv())
    fig = report.figure()
    fig.savefig(paths["plot"], dpi=120)
    if client is not None and parent_run_id:
        for path in paths.values():
            client.log_artifact(parent_run_id, str(path), "report")
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m rlkd_platform.report ablation=NAME [out=DIR] [name=SWEEP] [mlflow.tracking_uri=URI]``.

    The same tree and grammar as ``run_sweep.py`` (rlkd_platform.conf): ``out``, ``name`` and ``mlflow.*`` mean
    what they meant for the sweep; ``name`` unset = the latest sweep of the table.
    """
    import sys

    from rlkd.compose import parse_overrides
    from rlkd_platform.conf import compose_sweep
    from rlkd_platform.tracking.server import tracking_store

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not any(item.key == "ablation" for item in parse_overrides(argv)):
            raise RLKDError("say which table: ablation=<name> (e.g. ablation=exploration)")
        sweep = compose_sweep(argv).sweep
        out = Path(sweep.out).expanduser().resolve()
        if not sweep.mlflow.tracking_uri and not (out / "mlflow.db").is_file():
            raise RLKDError(f"no tracking store at {out / 'mlflow.db'}: run the sweep first "
                            f"(python run_sweep.py ablation={sweep.ablation.name} out={sweep.out}) or set "
                            "mlflow.tracking_uri to its server")
        with tracking_store(sweep.mlflow.tracking_uri, out) as store:  # the sweep's own way to its store
            store.ready()
            report, client, parent = build_report(store.uri, sweep.ablation.name, experiment=sweep.mlflow.experiment,
                                                  sweep=sweep.name)
            paths = write_report(report, out / "reports", client, parent)
    except RLKDError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.markdown())
    print(f"written: {paths['markdown']}, {paths['csv']}, {paths['plot']}")
    return 0
