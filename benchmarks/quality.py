"""Quality at equal CPU: the default config's final model against a generic tuner that ends the same way.

Data: fresh draws of MNIST-1D, its generator run with the seeds of `--draws` (default 1 2 3; never the
package's 42, the draw our defaults were shaped on). Per draw and search seed (`--seeds`: 0..N-1):

- **layerwise (default config)**: `snakemake` on config/config.yaml with only `seed`, `experiment` and
  `data` changed, in a scratch folder, on 2 cores. CPU seconds: those of snakemake and every job it ran
  (the children's rusage). It reports its search's best validation error (summary.json `valid_error`),
  its best single network (`candidates.single`), its final model (`test_accuracy`; `reported` says
  which: the ensemble of `evaluate.seeds` refits on train + valid, or the logistic baseline) and the
  logistic baseline (`baseline`).
- **Optuna TPE + refit ensemble**: Optuna's TPESampler(seed) (default settings, one trial at a time,
  one thread) over exactly the search space of the layerwise run's no-pretraining arm: its fine-tuning
  spec (finetune/spec.json, i.e. the config's `finetune.space` and `finetune.patience`), each range,
  categorical and fixed value translated into the matching `suggest_*` and every other fine-tuning
  hyper-parameter at its default. Optuna has no priors: a range with `prior` or weighted choices is
  searched uniformly. Trials train through `finetune.run_trial` on the layerwise run's own preprocessed
  train and valid splits. The search proposes no more trials once its CPU seconds plus an estimate of
  the refits' (the best trial's own CPU x `evaluate.seeds` x (train + valid rows) / train rows x its
  best_epoch / stopped_epoch) reach the layerwise run's CPU seconds. Then, as the workflow's seed study
  does (`seedstudy.retrain`, the same member seeds), the best trial's configuration is refit on
  train + valid with `evaluate.seeds` seeds, each for the best trial's best_epoch epochs without early
  stopping, and their class probabilities are averaged: its final model. Its CPU seconds (this
  process's, refits included) are the real total, which may pass the budget by the estimate's error.
  Its baseline is the layerwise run's (same splits). The test split scores only the final networks.
- **layerwise, no-pretraining arm only** (`--ablation`): the layerwise workflow with `pretrain.layers: 0`
  (fine-tuning runs only its no-pretraining arm) and `finetune.strategy.rounds` raised so that it spends
  about the default run's CPU: the CPU of the default run's pretraining and fine-tuning (their trials'
  training time, plus each shard job's fixed cost: the run's CPU outside training spread over its jobs)
  divided by what one round of the no-pretraining arm costs the same way. Both runs' real CPU seconds
  are reported. Trials' durations are wall seconds, so the estimate needs an otherwise idle machine;
  the script stops before the ablation run where they outgrew the run's CPU seconds.

`--permuted`: the draw is written as a train CSV and a test CSV whose feature columns are in a random
order seeded by the draw, read as a user's file (`data.source: file`): a fully connected network must not
care. `--labels FRACTION`: the train CSV keeps the label of a stratified, seeded FRACTION of its rows and
leaves the others' label cell empty; the workflow uses unlabelled rows for preprocessing and
pretraining only, and its data/train.npz and valid.npz (which the Optuna peer searches and refits on)
hold the labelled rows only. `--tiny`: the same code at seconds scale: config/smoke.yaml, the first draw
only, the peer's budget cut to TINY_BUDGET_S CPU seconds (the test of this script).

Outputs in `--out`, named by `--name`: `<name>.csv` (one row per side, draw and seed: COLUMNS, where
`refit_s` is the training time of the final model's members and `note` the fine-tuning rounds or the
peer's budget), `<name>.md` (each side's means over draws x seeds, and on how many of them the default
config's final model and its best single network are ahead of each other side's) and `<name>.png` (best
validation error so far against CPU seconds: layerwise's fine-tuning trials placed after its earlier
stages' training time, Optuna's trials).

    .venv/bin/python benchmarks/quality.py [--draws 1 2 3] [--seeds 1] [--permuted] [--labels 0.1]
                                           [--ablation] [--tiny] [--name NAME] [--out benchmarks/figures]
"""

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
import optuna
import pandas as pd
import torch
import yaml
from orchestration import REPO, merged, timed_snakemake
from sklearn.model_selection import train_test_split

from layerwise import stagespec
from layerwise.data.sets import load_builtin
from layerwise.learn.epochs import Diverged
from layerwise.learn.models import Ensemble
from layerwise.model.network import load_network
from layerwise.records import TrialRecord
from layerwise.search.space import Categorical, Fixed, domain
from layerwise.seeding import configure_torch, derive_seed, seed_everything
from layerwise.stages import finetune
from layerwise.stages.inputs import StageInputs, load_tensors
from layerwise.stages.kinds import stage_space
from layerwise.steps.evaluate import tested
from layerwise.steps.seedstudy import retrain

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

from layerwise.selections import Chosen, Selection, write_selection

LAYERWISE, OPTUNA, ABLATION = "layerwise (default config)", "Optuna TPE + refit ensemble", "layerwise, no pretraining"
PACKAGE_DRAW = 42  # MNIST-1D's generator seed for its published data set (data.generator_seed: null)
TINY_BUDGET_S = 4.0  # --tiny: the peer's CPU seconds, whatever the smoke run spent
COLUMNS = ("side", "draw", "seed", "reported", "valid_error", "single_test_accuracy", "test_accuracy",
           "baseline_test_accuracy", "cpu_s", "wall_s", "trials", "refit_s", "note")  # fmt: skip


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def draw_data(draw: int, folder: Path, permuted: bool, labels: float | None) -> dict:
    """The config's `data` changes for one draw: MNIST-1D's generator seed, or the draw as a train and
    a test CSV (columns shuffled if `permuted`; only a stratified `labels` fraction of training labels)."""
    if not permuted and labels is None:
        return {"generator_seed": draw}
    x, y, x_test, y_test = load_builtin("mnist1d", draw)
    order = np.random.default_rng(draw).permutation(x.shape[1]) if permuted else np.arange(x.shape[1])
    train_labels = pd.array(y, dtype="Int64")  # an integer column that can hold empty cells
    if labels is not None:
        kept = train_test_split(np.arange(len(y)), train_size=labels, stratify=y, random_state=draw)[0]
        train_labels[np.setdiff1d(np.arange(len(y)), kept)] = pd.NA
    paths = {}
    for name, (features, column) in {"train": (x, train_labels), "test": (x_test, y_test)}.items():
        paths[name] = folder / f"mnist1d-{draw}-{name}.csv"
        frame = pd.DataFrame(features[:, order], columns=[f"f{index}" for index in order])
        frame.assign(label=column).to_csv(paths[name], index=False)
    return {"source": "file", "path": str(paths["train"]), "test_path": str(paths["test"]), "label_column": "label"}


def layerwise_side(side: str, config: dict, folder: Path) -> dict:
    """One workflow run to the end: its row, the folder of its results and its best-so-far curve."""
    before = children_cpu()
    _, wall = timed_snakemake(folder, config, 2)
    cpu = children_cpu() - before
    results = folder / "results" / config["experiment"]
    summary = json.loads((results / "summary.json").read_text())
    trials = pd.read_csv(results / "trials.csv")
    earlier = trials[trials.stage != "finetune"].duration_s.sum()
    tuning = trials[trials.stage == "finetune"].sort_values(["round", "index"])
    members = [json.loads(path.read_text()) for path in (results / "seed_study").glob("*.json")]
    return {
        "side": side, "reported": summary["reported"], "valid_error": summary["valid_error"],
        "single_test_accuracy": summary["candidates"]["single"]["test_accuracy"],
        "test_accuracy": summary["test_accuracy"], "baseline_test_accuracy": summary["baseline"]["test_accuracy"],
        "cpu_s": cpu, "wall_s": wall, "trials": len(trials), "refit_s": sum(m["duration_s"] for m in members),
        "note": f"fine-tuning rounds: {tuning['round'].nunique()}", "results": results, "trials_table": trials,
        "curve": list(zip(earlier + tuning.duration_s.cumsum(), tuning.objective.cummin(), strict=True)),
    }  # fmt: skip


def suggest(optuna_trial, name: str, distribution):
    """The value of one hyper-parameter of the workflow's space (search/space.py), drawn by Optuna."""
    if isinstance(distribution, Fixed):
        return distribution.value
    if isinstance(distribution, Categorical):
        return optuna_trial.suggest_categorical(name, list(distribution.choices))
    if distribution.integer:
        return optuna_trial.suggest_int(name, int(distribution.low), int(distribution.high), log=distribution.log)
    if distribution.complement:  # uniform in -log(1 - x), as the workflow draws it
        low, high, _, out = domain(distribution)
        return out(optuna_trial.suggest_float(name, low, high))
    return optuna_trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)


def refit_estimate(best: optuna.trial.FrozenTrial, members: int, rows: float) -> float:
    """CPU seconds the refits should take: the best trial's own, on `rows` times its rows, to its best epoch."""
    metrics = best.user_attrs["metrics"]
    return members * best.user_attrs["cpu_s"] * rows * metrics["best_epoch"] / metrics["stopped_epoch"]


def extra_rows(inputs: StageInputs) -> float:
    """A refit's rows over a trial's: (train + valid) / train, 1.25 with the default split."""
    return (len(inputs.train.y) + len(inputs.valid.y)) / len(inputs.train.y)


def search(spec: stagespec.StageSpec, inputs: StageInputs, budget: float, members: int, folder: Path):
    """Optuna's TPE until its CPU seconds plus the refits' estimate reach `budget`: the study, the best
    trial's weights and the best-so-far curve (CPU seconds since `started`, best validation error)."""
    distributions = stage_space(spec).distributions
    rows = extra_rows(inputs)
    best_weights, trial_weights = folder / "optuna-best.pt", folder / "optuna-trial.pt"
    started, curve = time.process_time(), []

    def objective(optuna_trial) -> float:
        params = {name: suggest(optuna_trial, name, dist) for name, dist in distributions.items()}
        number = optuna_trial.number
        trial = TrialRecord.planned("finetune", 0, number, 0, None, derive_seed(spec.seed, "optuna", number), params)
        seed_everything(trial.seed)
        generator, clock = torch.Generator().manual_seed(trial.seed), time.process_time()
        try:
            result = finetune.run_trial(trial, inputs, spec, str(trial_weights), generator)
        except Diverged:
            raise optuna.TrialPruned() from None
        optuna_trial.set_user_attr("cpu_s", time.process_time() - clock)
        optuna_trial.set_user_attr("params", params)
        optuna_trial.set_user_attr("metrics", result["metrics"])
        finished = [t.value for t in optuna_trial.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
        if not finished or result["objective"] < min(finished):
            trial_weights.replace(best_weights)
        return result["objective"]

    def stop_when_spent(study, _) -> None:
        completed = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        spent = time.process_time() - started
        curve.append((spent, study.best_value if completed else np.nan))
        if completed and spent + refit_estimate(study.best_trial, members, rows) >= budget:
            study.stop()

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=spec.seed))
    study.optimize(objective, callbacks=[stop_when_spent])
    return study, best_weights, curve


def refit_ensemble(best: optuna.trial.FrozenTrial, results: Path, spec, members: int, folder: Path) -> tuple:
    """The best trial's configuration refit as the workflow's seed study refits a member (`retrain`):
    the ensemble of `members` networks, and their training time."""
    selected = folder / "optuna-selected.json"  # what retrain reads of the fine-tuning selection
    trial = TrialRecord(
        "finetune", 0, best.number, f"optuna-{best.number}", **{k: best.user_attrs[k] for k in ("params", "metrics")}
    )
    write_selection(str(selected), Selection("finetune", best=Chosen(trial, ())))
    splits = {name: str(results / "data" / f"{name}.npz") for name in ("train", "valid")}
    records = [
        retrain(
            selected_path=str(selected), **splits, parents=None, spec=spec, member=f"seed{member}", refit=True,
            weights=str(folder / f"optuna-seed{member}.pt"), out=str(folder / f"optuna-seed{member}.json"), threads=1,
        )
        for member in range(members)
    ]  # fmt: skip
    networks = [load_network(record["weights"])[0] for record in records]
    return Ensemble(networks), sum(record["duration_s"] for record in records)


def optuna_side(ours: dict, budget: float, members: int, folder: Path) -> dict:
    """Optuna's search and refit ensemble on the layerwise run's splits, within `budget` CPU seconds."""
    configure_torch(1)
    started, clock = time.process_time(), time.perf_counter()
    results = ours["results"]
    spec = stagespec.read(str(results / "finetune" / "spec.json"))
    data = results / "data"
    inputs = StageInputs(str(data / "train.npz"), str(data / "valid.npz"), None)
    study, best_weights, curve = search(spec, inputs, budget, members, folder)
    estimate = refit_estimate(study.best_trial, members, extra_rows(inputs))
    ensemble, refit_s = refit_ensemble(study.best_trial, results, spec, members, folder)
    test = load_tensors(str(data / "test.npz"))
    return {
        "side": OPTUNA, "reported": "ensemble", "valid_error": study.best_value,
        "single_test_accuracy": tested(load_network(str(best_weights))[0], test)["test_accuracy"],
        "test_accuracy": tested(ensemble, test)["test_accuracy"],
        "baseline_test_accuracy": ours["baseline_test_accuracy"], "cpu_s": time.process_time() - started,
        "wall_s": time.perf_counter() - clock, "trials": len(study.trials), "refit_s": refit_s,
        "note": f"budget {budget:.0f} CPU-s, refits estimated at {estimate:.0f} s", "curve": curve,
    }  # fmt: skip


def ablation_config(config: dict, ours: dict) -> dict:
    """The run's config with no pretrained layers, and as many fine-tuning rounds of the no-pretraining
    arm as the default run's CPU pays for. A round costs its trials' training time plus the fixed cost
    of its shard jobs (start, data, bookkeeping), estimated as the run's CPU outside training spread
    evenly over its jobs: shard jobs, plus the members' trainings and the 4 others (data, preprocessing
    data, evaluation, packaging)."""
    trials = ours["trials_table"]
    searched = trials.stage != "preprocess"  # pretraining and fine-tuning: what the ablation replaces
    alone = (trials.stage == "finetune") & trials.parent_trial.isna()
    shard_jobs = trials.groupby(["stage", "round", "shard"]).ngroups
    outside_training = ours["cpu_s"] - trials.duration_s.sum() - ours["refit_s"]
    if outside_training <= 0:  # durations are wall seconds: on a shared machine they outgrow the CPU's
        raise SystemExit(
            f"--ablation: the default run's trials took {trials.duration_s.sum():.0f} wall seconds, more than "
            f"its {ours['cpu_s']:.0f} CPU seconds: the machine was shared, and the rounds that spend the same "
            "CPU cannot be estimated. Run the ablation on an otherwise idle machine."
        )
    per_job = outside_training / (shard_jobs + 2 * config["evaluate"]["seeds"] + 4)
    tuning = trials[trials.stage == "finetune"]
    jobs_per_round = tuning.groupby(["round", "shard"]).ngroups / tuning["round"].nunique()
    per_round = trials[alone].duration_s.sum() / trials[alone]["round"].nunique() + jobs_per_round * per_job
    search_jobs = trials[searched].groupby(["stage", "round", "shard"]).ngroups
    searching = trials[searched].duration_s.sum() + search_jobs * per_job
    rounds = max(1, round(searching / per_round))
    strategy = {**config["finetune"].get("strategy", {}), "rounds": rounds}  # merged() replaces it whole
    return merged(config, {
        "experiment": f"{config['experiment']}-ablation", "pretrain": {"layers": 0}, "finetune": {"strategy": strategy},
    })  # fmt: skip


def sides(config: dict, folder: Path, budget: float | None, ablation: bool) -> list[dict]:
    """The rows of one draw and search seed: layerwise, Optuna (within `budget`, else layerwise's CPU)
    and, with `ablation`, the no-pretraining arm alone."""
    ours = layerwise_side(LAYERWISE, config, folder)
    members = config["evaluate"]["seeds"]
    rows = [ours, optuna_side(ours, budget or ours["cpu_s"], members, folder)]
    if ablation:
        rows.append(layerwise_side(ABLATION, ablation_config(config, ours), folder))
    return rows


def default_name(args: argparse.Namespace) -> str:
    """quality, with what sets the run apart: quality-permuted, quality-labels0.1, quality-tiny..."""
    labels = f"-labels{args.labels:g}" if args.labels is not None else ""
    return f"quality{'-permuted' * args.permuted}{labels}{'-tiny' * args.tiny}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 2, 3], help="MNIST-1D generator seeds")
    parser.add_argument("--seeds", type=int, default=1, help="search seeds per draw: 0..N-1")
    parser.add_argument("--permuted", action="store_true", help="read the draw from CSVs with shuffled columns")
    parser.add_argument("--labels", type=float, help="keep this stratified fraction of training labels")
    parser.add_argument("--ablation", action="store_true", help="add the no-pretraining arm alone at equal CPU")
    parser.add_argument("--tiny", action="store_true", help="smoke config, one draw, a tiny peer budget")
    parser.add_argument("--name", help="output files' name (default: quality[-permuted][-labels<F>][-tiny])")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    if PACKAGE_DRAW in args.draws:
        parser.error(f"--draws: {PACKAGE_DRAW} is MNIST-1D's own draw, the one our defaults were shaped on")
    name = args.name or default_name(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = yaml.safe_load((REPO / "config" / ("smoke.yaml" if args.tiny else "config.yaml")).read_text())
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for draw in args.draws[:1] if args.tiny else args.draws:
            folder = Path(scratch) / f"draw{draw}"
            folder.mkdir()
            data = draw_data(draw, folder, args.permuted, args.labels)
            for seed in range(args.seeds):
                config = merged(base, {"seed": seed, "experiment": f"{name}-d{draw}-s{seed}", "data": data})
                for row in sides(config, folder / f"seed{seed}", TINY_BUDGET_S if args.tiny else None, args.ablation):
                    rows.append({**row, "draw": draw, "seed": seed})
                    print(json.dumps({key: rows[-1][key] for key in COLUMNS}), flush=True)
    report(pd.DataFrame(rows), name, out)


def report(rows: pd.DataFrame, name: str, out: Path) -> None:
    """The CSV (every number), the table (each side's means; on how many draws x seeds the default
    config is ahead of each other side) and the best-so-far figure."""
    rows[list(COLUMNS)].to_csv(out / f"{name}.csv", index=False)
    figures = ["valid_error", "single_test_accuracy", "test_accuracy", "baseline_test_accuracy", "cpu_s", "wall_s",
               "trials", "refit_s"]  # fmt: skip
    means = rows.groupby("side", sort=False)[figures].mean().assign(runs=rows.groupby("side", sort=False).size())
    lines = [means.to_markdown(floatfmt=".3f"), ""]
    for figure, words in (("test_accuracy", "final-model"), ("single_test_accuracy", "best single network")):
        paired = rows.pivot(index=["draw", "seed"], columns="side", values=figure)
        for other in paired.columns.drop(LAYERWISE):
            ahead = int((paired[LAYERWISE] > paired[other]).sum())
            lines.append(f"layerwise ahead of {other} on {words} test accuracy in {ahead} of {len(paired)}")
    text = "\n".join(lines) + "\n"
    (out / f"{name}.md").write_text(text)
    print(text)
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=150)
    colours = {LAYERWISE: "C0", OPTUNA: "C1", ABLATION: "C2"}
    for side, group in rows.groupby("side", sort=False):
        for number, curve in enumerate(group.curve):
            spent, best = zip(*curve, strict=True)
            axes.step(spent, best, where="post", color=colours[side], label=side if number == 0 else None)
    axes.set(xlabel="CPU seconds", ylabel="best validation error so far", title=name)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / f"{name}.png")


if __name__ == "__main__":
    main()
