"""Result records: one JSON file per protocol run, written atomically; the leaderboard reads
only these.

A record says what was measured (method, dataset, split, stream, protocol, metrics), with what
(checkpoint, preset, pretraining epochs and seed, the protocol's seed, frames, preprocessing, body selection) and
where (commit, device, wall time, command). Records of the embedded data carry
``"synthetic": true`` and are never presented as NTU numbers.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import sys
from collections.abc import Collection
from pathlib import Path
from statistics import mean, stdev

import numpy as np

from datasets.benchmarks import DEFAULT_DATASET
from datasets.integrity import generated_identity
from datasets.synthetic import DEFAULT_SEED, NUM_CLASSES, NUM_SUBJECTS
from utils.files import atomic_write, atomic_write_text
from utils.paths import REPO_ROOT, cache_root

#: The shipped records, which the published leaderboard is built from; a user's runs go to
#: :func:`records_dir` and enter this folder only through ``python -m leaderboard publish``.
RECORDS_DIR = REPO_ROOT / "results" / "records"
LOGITS_SUFFIX = ".logits.npz"
REQUIRED = ("method", "dataset", "split", "stream", "protocol", "preset", "epochs", "seed", "metrics", "frames",
            "preprocessing", "commit", "wall_s", "device")


def records_dir(override: Path | str | None = None) -> Path:
    """Where a run's record goes: ``override``, else ``$SKELEBENCH_RESULTS``, else ``records/`` in
    the cache. Never the shipped :data:`RECORDS_DIR` by default: a user's experiments must not
    change the git tree or fold into the published tables."""
    if override is not None:
        return Path(override)
    return Path(os.environ.get("SKELEBENCH_RESULTS", cache_root() / "records"))


#: The placeholders a record writes for the folders of the machine that made it.
PLACES = ("<cache>", "<repo>", "<data-root>", "<download>")


def portable(value, data_root: Path | str | None = None):
    """``value`` (a record, or any part of one) with every path of this machine written relative
    to a named place: the cache as ``<cache>``, the checkout as ``<repo>``, the folder of prepared
    benchmarks as ``<data-root>``; in plain strings and inside commands alike. A record then says
    where its files were without naming the machine, and two machines write the same record."""
    places = [(str(cache_root().resolve()), "<cache>"), (str(REPO_ROOT), "<repo>")]
    if data_root is not None:
        places.insert(0, (str(Path(data_root).resolve()), "<data-root>"))
    patterns = [(re.compile(re.escape(prefix) + r"(?=/|\s|$|['\"])"), tag) for prefix, tag in places
                if prefix not in ("", "/")]

    def convert(v):
        if isinstance(v, str):
            for pattern, tag in patterns:
                v = pattern.sub(tag, v)
            return v
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        return v

    return convert(value)


def local_path(text: str) -> Path:
    """A path a record names (:func:`portable`), on this machine: ``<cache>`` and ``<repo>``
    expanded; any other path unchanged."""
    for tag, place in (("<cache>", cache_root()), ("<repo>", REPO_ROOT)):
        if text == tag or text.startswith(tag + "/"):
            return Path(str(place) + text[len(tag):])
    return Path(text)


def portable_record(record: dict) -> dict:
    """A record with :func:`portable` paths; the download a benchmark was prepared from (outside
    every named place) is kept by its folder name only, as ``<download>/NAME``."""
    out = portable(record, record_data_root(record))
    data = out.get("data")
    if isinstance(data, dict) and isinstance(data.get("source"), list):
        data["source"] = [f"<download>/{Path(s).name}" if isinstance(s, str) and os.path.isabs(s) else s
                          for s in data["source"]]
    return out


def record_data_root(record: dict) -> Path | None:
    """The ``--data-root`` a record's data came from: the parent of its benchmark folder, unless
    that folder is in the cache (the embedded data) or the checkout."""
    root = (record.get("data") or {}).get("root")
    if not isinstance(root, str) or not os.path.isabs(root):
        return None
    parent = Path(root).resolve().parent
    inside = [cache_root().resolve(), REPO_ROOT]
    return None if any(parent == p or p in parent.parents for p in inside) else parent


def write_record(record: dict, directory: Path | str | None = None,
                 arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Validate and write ``record`` as ``<created>-<method>-<protocol>-<dataset>-<stream>.json``
    with its paths :func:`portable`; ``arrays`` (a classifier's test logits) go beside it as
    ``<same name>.logits.npz``, written first, and the record names that file in ``logits``."""
    check_record(record)  # the schema the leaderboard reads with (record_problems): no impossible record is written
    record.update(portable_record(record))  # the caller's record says the same
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ValueError(f"result record lacks {', '.join(missing)}")
    folder = records_dir(directory)
    # Both files or neither (issue 24): what is on disk so far, removed again if any step fails
    # (a full disk after hours of work must not leave an orphan logits file or a temporary file).
    made: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = re.sub(r"[^0-9T]", "", record.get("created", ""))
        stem = "-".join(str(record[k]) for k in ("method", "protocol", "dataset", "stream"))
        path = folder / f"{stamp}-{stem}.json"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{stamp}-{stem}-{n}.json"
        if arrays is not None:
            side = path.with_suffix(LOGITS_SUFFIX)
            atomic_write(side, lambda f: np.savez_compressed(f, **arrays))  # its temporary file is its own to clean
            made.append(side)
            record["logits"] = side.name  # the caller's record names it too
        atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException as err:
        for leftover in made:
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass  # the original failure is what to report
        if arrays is not None:
            record.pop("logits", None)
        if isinstance(err, OSError):
            raise _unwritten(err, folder) from err
        raise
    return path


def _unwritten(err: OSError, folder: Path) -> OSError:
    """The one-line error of a record that could not be written: a full disk said as such (the raw
    ``[Errno 28]`` names neither the folder nor what to do), anything else with its reason."""
    full = err.errno in (errno.ENOSPC, errno.EDQUOT)
    what = (f"the disk of {folder} is full (errno {errno.errorcode[err.errno]})" if full
            else f"cannot write the result record in {folder} ({err.strerror or err})")
    out = OSError(f"{what}: the record was not written and nothing of it was left there; "
                  f"{'free space there, or ' if full else ''}pass --results-dir (or set $SKELEBENCH_RESULTS) "
                  f"to {'a folder on another disk' if full else 'a writable folder'}, and run again")
    out.errno = err.errno
    return out


def read_logits(record: dict) -> dict[str, np.ndarray]:
    """The test logits saved beside a record (read with :func:`read_records`, which sets ``_path``)."""
    name = record.get("logits")
    if not name:
        raise ValueError(f"record {record.get('_path', '?')} has no saved logits (its protocol trains no classifier, "
                         "or it predates saving them)")
    path = Path(record["_path"]).parent / name
    if not path.is_file():
        raise FileNotFoundError(f"logits file {path} of record {record['_path']} does not exist: logits are results, "
                                "not shipped with the repository; re-run the record's command to make them: "
                                f"{record.get('command', '(the record names none)')}")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


#: Accuracies (percent) a record's metrics hold at their top level; the tables and records.csv show them.
ACCURACIES = ("top1", "top5", "best_top1")
#: Protocols whose record is a report of several figures instead of one top-1 (protocols/difficulty.py);
#: the leaderboard shows each figure, an accuracy, as a row of its own.
REPORT_PROTOCOLS = ("difficulty",)
#: Text fields a record must hold, non-empty: the leaderboard groups, labels and files rows by them.
TEXT_FIELDS = ("method", "dataset", "split", "stream", "protocol")
#: Fields that hold an object (or null) the leaderboard looks into.
OBJECT_FIELDS = ("checkpoint", "data", "variant", "protocol_config")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite_from(value: object, low: float) -> bool:
    """A finite number ≥ ``low`` (NaN and infinity are not)."""
    return _number(value) and math.isfinite(value) and value >= low


def _shown(value: object) -> str:
    """A value as a problem quotes it: its JSON spelling, cut short."""
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _json_kind(value: object) -> str:
    kinds = {list: "list", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def accuracy_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the accuracy ``name`` (a finite number of percent, in [0, 100]), or
    None. A string is refused though it may look like a number: a record is written by the suite,
    which writes numbers, so a string there is an edit or another tool's output, not a figure."""
    if not _number(value):
        return f"{name} {_shown(value)} is not a number"
    if not (math.isfinite(value) and 0 <= value <= 100):
        return f"{name} {_shown(value)} is not an accuracy in [0, 100]"
    return None


def _report_figures(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    """The figures of a report's (nested) metrics as the difficulty table reads them: every scalar
    and every entry of a ``values`` list, by dotted name; epoch counts, strings, flags, nulls and
    other lists are not figures."""
    out: list[tuple[str, object]] = []
    for key in sorted(metrics, key=str):
        value, name = metrics[key], f"{prefix}{key}"
        if isinstance(value, dict):
            out += _report_figures(value, name + ".")
        elif key == "values" and isinstance(value, list):
            out += [(f"{name}[{i}]", v) for i, v in enumerate(value) if not isinstance(v, (str, bool, type(None)))]
        elif key != "epochs" and _number(value):
            out.append((name, value))
    return out


def metric_problems(protocol: object, metrics: dict) -> list[str]:
    """What the leaderboard cannot use in a record's ``metrics``: a top-1 missing (every table cell
    but a report's is one), an accuracy that is not a finite number in [0, 100] (top-1, top-5,
    best top-1, the k-NN votes, each stream of a fusion, each corruption level), the accuracy kept
    under corruption not a finite number ≥ 0, a report figure out of range."""
    problems = []
    if protocol not in REPORT_PROTOCOLS and metrics.get("top1") is None:
        problems.append("metrics lack top1 (every table cell is a top-1)")
    problems += [p for k in ACCURACIES if metrics.get(k) is not None if (p := accuracy_problem(k, metrics[k]))]
    for key in ("knn_top1", "streams"):
        value = metrics.get(key)
        if value is not None and not isinstance(value, dict):
            problems.append(f"{key} is a JSON {_json_kind(value)}, not an object")
        elif value:
            problems += [p for k, v in value.items() if (p := accuracy_problem(f"{key}.{k}", v))]
    robustness = metrics.get("robustness")
    if robustness is not None:
        if not (isinstance(robustness, dict) and all(isinstance(v, dict) for v in robustness.values())):
            problems.append("robustness is not an object of corruptions, each an object of levels")
        else:
            for name, levels in robustness.items():
                problems += [f"robustness.{name} level {_shown(level)} is not a number" for level in levels
                             if not _float_text(level)]
                problems += [p for level, value in levels.items()
                             if (p := accuracy_problem(f"robustness.{name}.{level}", value))]
    kept = metrics.get("mean_relative")
    if kept is not None and not _finite_from(kept, 0):
        problems.append(f"mean_relative {_shown(kept)} is not a finite number >= 0")
    if protocol in REPORT_PROTOCOLS:
        problems += [p for name, value in _report_figures(metrics) if (p := accuracy_problem(name, value))]
    return problems


def _float_text(text: object) -> bool:
    """Whether a JSON key (a corruption's severity) reads as a finite number, as the robustness plot reads it."""
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def _config_problems(config: dict) -> list[str]:
    """What the leaderboard cannot use among the protocol options it reads (frame.py: a semi
    fraction, a k-NN temperature and features, epoch counts, fused components)."""
    problems = []
    fraction = config.get("fraction")
    if fraction is not None and not (_number(fraction) and 0 < fraction <= 1):
        problems.append(f"protocol_config.fraction {_shown(fraction)} is not a number in (0, 1]")
    t = config.get("t")
    if t is not None and not _finite_from(t, -math.inf):
        problems.append(f"protocol_config.t {_shown(t)} is not a finite number")
    for key in ("epochs", "official_epochs"):
        value = config.get(key)
        if value is not None and not (_integer(value) and value >= 0):
            problems.append(f"protocol_config.{key} {_shown(value)} is not a whole number >= 0")
    for key in ("features", "probe", "logits", "fused_protocol"):
        value = config.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"protocol_config.{key} {_shown(value)} is not a string")
    components = config.get("components")
    if components is not None and not (isinstance(components, list) and all(isinstance(c, str) for c in components)):
        problems.append("protocol_config.components is not a list of record file names")
    return problems


def curve_problems(curve: object) -> list[str]:
    """What the curve plot cannot use in a record's ``pretraining_curve`` (the pretraining run's
    held-out KNN monitor, :func:`results.curves.monitor_curve`): an object with a ``metric``
    text, ``every`` a whole number >= 1 or null, ``epochs`` strictly rising whole numbers >= 0 and
    ``top1`` as many accuracies in [0, 100]. A plot draws these points as measured, so a NaN or a
    list one short would draw a curve nobody measured."""
    if not isinstance(curve, dict):
        return [f"pretraining_curve is a JSON {_json_kind(curve)}, not an object"]
    problems = []
    if not (isinstance(curve.get("metric"), str) and curve["metric"]):
        problems.append("pretraining_curve.metric is not a non-empty string")
    every = curve.get("every")
    if every is not None and not (_integer(every) and every >= 1):
        problems.append(f"pretraining_curve.every {_shown(every)} is not a whole number >= 1 (or null)")
    epochs, top1 = curve.get("epochs"), curve.get("top1")
    if not (isinstance(epochs, list) and epochs and all(_integer(e) and e >= 0 for e in epochs)):
        problems.append("pretraining_curve.epochs is not a non-empty list of whole numbers >= 0")
    elif any(b <= a for a, b in zip(epochs, epochs[1:])):
        problems.append("pretraining_curve.epochs do not rise strictly")
    if not isinstance(top1, list):
        problems.append(f"pretraining_curve.top1 is a JSON {_json_kind(top1)}, not a list")
    else:
        problems += [p for i, v in enumerate(top1) if (p := accuracy_problem(f"pretraining_curve.top1[{i}]", v))]
        if isinstance(epochs, list) and len(top1) != len(epochs):
            problems.append(f"pretraining_curve has {len(epochs)} epochs but {len(top1)} top1 values")
    return problems


def record_problems(record: object) -> list[str]:
    """Everything the leaderboard cannot use in one record, in words (empty: a usable record).

    The one schema of a record, for both sides: :func:`write_record` refuses a record with a
    problem, :func:`read_records` leaves one out. It checks what the leaderboard relies on: a JSON
    object; every field of :data:`REQUIRED`; the text fields (:data:`TEXT_FIELDS`) non-empty
    strings; frames a whole number ≥ 1 and the seeds and epochs whole numbers ≥ 0 (or null); the
    wall time a finite number ≥ 0; ``synthetic`` a boolean (a string "false" would be true);
    objects where the leaderboard looks inside (:data:`OBJECT_FIELDS`); the pretraining curve
    (:func:`curve_problems`); and the metrics (:func:`metric_problems`). Pure: a record in, sentences out."""
    if not isinstance(record, dict):
        return [f"the record is a JSON {_json_kind(record)}, not an object"]
    problems = []
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        problems.append(f"lacks {', '.join(missing)}")
    problems += [f"{k} {_shown(record[k])} is not a non-empty string" for k in TEXT_FIELDS
                 if k in record and not (isinstance(record[k], str) and record[k])]
    frames = record.get("frames")
    if "frames" in record and not (_integer(frames) and frames >= 1):
        problems.append(f"frames {_shown(frames)} is not a whole number >= 1")
    for key in ("epochs", "seed", "pretrain_seed"):
        value = record.get(key)
        if value is not None and not (_integer(value) and value >= 0):
            problems.append(f"{key} {_shown(value)} is not a whole number >= 0 (or null)")
    if "wall_s" in record and not _finite_from(record["wall_s"], 0):
        problems.append(f"wall_s {_shown(record['wall_s'])} is not a finite number >= 0")
    if record.get("pretrain_wall_s") is not None and not _finite_from(record["pretrain_wall_s"], 0):
        problems.append(f"pretrain_wall_s {_shown(record['pretrain_wall_s'])} is not a finite number >= 0")
    for key in ("preset", "created", "bn_statistics", "encoder"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{key} {_shown(value)} is not a string")
    if "synthetic" in record and not isinstance(record["synthetic"], bool):
        problems.append(f"synthetic {_shown(record['synthetic'])} is not true or false")
    for key in OBJECT_FIELDS:
        value = record.get(key)
        if value is not None and not isinstance(value, dict):
            problems.append(f"{key} is a JSON {_json_kind(value)}, not an object")
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    for key in ("identity", "fingerprint"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(f"data.{key} {_shown(data[key])} is not a string")
    version = data.get("generator_version")
    if version is not None and not _integer(version):
        problems.append(f"data.generator_version {_shown(version)} is not a whole number")
    checkpoint = record.get("checkpoint") if isinstance(record.get("checkpoint"), dict) else {}
    if checkpoint.get("source") is not None and not isinstance(checkpoint["source"], str):
        problems.append(f"checkpoint.source {_shown(checkpoint['source'])} is not a string")
    if isinstance(record.get("protocol_config"), dict):
        problems += _config_problems(record["protocol_config"])
    if "pretraining_curve" in record:
        problems += curve_problems(record["pretraining_curve"])
    metrics = record.get("metrics")
    if "metrics" in record and not isinstance(metrics, dict):
        problems.append(f"metrics is a JSON {_json_kind(metrics)}, not an object")
    elif isinstance(metrics, dict):
        problems += metric_problems(record.get("protocol"), metrics)
    return problems


def check_record(record: dict) -> None:
    """A ValueError listing the record's problems (:func:`record_problems`), if it has any."""
    problems = record_problems(record)
    if problems:
        raise ValueError(f"result record not written: {'; '.join(problems)}")


def read_records(directory: Path | str | None = None) -> list[dict]:
    """The usable records of a folder, by file name (oldest first); each sets ``_path``.

    A file that does not parse as JSON is an error naming it: the suite writes records
    atomically, so such a file was cut short or damaged by hand, and the folder needs mending
    before anything is built from it. A record that parses but breaks the schema
    (:func:`record_problems`: a JSON list, a top-1 of 250 or "99.5" or NaN, no metrics, a method
    that is a number) is left out with one ``warning:`` line on stderr naming the file and its
    problems: it is one run the tables cannot show, the other records still make right tables, and
    averaging it in or crashing on it would be worse than leaving it out aloud."""
    folder = records_dir(directory)
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"result record {path} is not valid JSON: {err}") from None
        problems = record_problems(rec)
        if problems:
            print(f"warning: result record {path} left out: {'; '.join(problems)}", file=sys.stderr)
            continue
        rec["_path"] = str(path)
        out.append(rec)
    return out



def reference_records(directory: Path | str | None = None) -> list[dict]:
    """The records a run is compared with: the user's (:func:`read_records` of ``directory``)
    and, where that is another folder, the shipped ones, whose random-init and supervised runs
    are the references of the data they were made on."""
    mine = read_records(directory) if records_dir(directory).is_dir() else []
    if records_dir(directory).resolve() == RECORDS_DIR.resolve() or not RECORDS_DIR.is_dir():
        return mine
    return mine + read_records(RECORDS_DIR)

def variant_label(variant: dict | None) -> str:
    """`` [key=value, ...]`` for a run whose pretraining departed from the method's defaults, else ``""``."""
    return f" [{', '.join(f'{k}={v}' for k, v in sorted(variant.items()))}]" if variant else ""


def data_key(record: dict) -> str:
    """The benchmark a record was made on, as results are compared: its data identity
    (:func:`datasets.integrity.data_identity`). Generated data recorded before identities were
    written were the default benchmark, the only one the command line generates, so their key is
    computed from the record; otherwise the files' fingerprint."""
    data = record.get("data") or {}
    if data.get("identity"):
        return data["identity"]
    if data.get("format") == "generated":
        return generated_identity({"dataset": record.get("dataset"), "generator_version": data.get("generator_version"),
                                   "frames": record.get("frames"), "layout": record.get("layout") or "ntu25",
                                   "seed": DEFAULT_SEED, "subjects": NUM_SUBJECTS, "num_classes": NUM_CLASSES})
    return data.get("fingerprint") or ""


#: The encoder of a record that does not name one: every record before issue 28 is of ST-GCN.
DEFAULT_ENCODER = "stgcn"


def record_encoder(record: dict) -> str:
    """The registered encoder a record's features came from (its ``encoder`` field, else ST-GCN)."""
    return record.get("encoder") or DEFAULT_ENCODER


def reference_line(record: dict, records: list[dict], same_encoder: Collection[str] = ()) -> str:
    """Where a result sits between its benchmark's floor and ceiling: the random-init runs of the
    same protocol, probe and stream on the same data (the newest per init seed; mean ± sd over
    seeds where there are several: an untrained encoder varies by points between seeds), and the newest supervised baseline
    (finetune from random init) there; for one not run yet, the command that computes it. A
    number alone says nothing until the untrained encoder and the supervised network are beside
    it (issue 12 item 5). Random-init runs of the record's method count, and of the methods in
    ``same_encoder`` (those whose untrained encoder is the same network: ST-GCN at the same frames
    for SkeletonCLR, AimCLR and CrosSCLR), named when another method ran them; of the record's
    encoder (:func:`record_encoder`) only."""
    key = data_key(record)
    methods = {record["method"], *same_encoder}
    network = record_encoder(record)
    probe = (record.get("protocol_config") or {}).get("probe")

    def newest_per_seed(protocol: str, stream: str | None, same_probe: bool = False) -> list[dict]:
        found = [r for r in records if r.get("protocol") == protocol and r.get("method") in methods
                 and (r.get("checkpoint") or {}).get("source") == "random" and record_encoder(r) == network
                 and data_key(r) == key and r.get("frames", record.get("frames")) == record.get("frames")
                 and (stream is None or r.get("stream") == stream) and "top1" in r.get("metrics", {})
                 and (not same_probe or (r.get("protocol_config") or {}).get("probe") == probe)]
        newest: dict[object, dict] = {}
        for r in sorted(found, key=lambda r: r.get("created", "")):
            newest[r.get("seed")] = r  # a re-run of the same init seed supersedes the older
        return sorted(newest.values(), key=lambda r: r.get("created", ""))

    def command(protocol: str) -> str:
        options = "" if record.get("stream", "joint") == "joint" else f" --stream {record['stream']}"
        options += "" if record.get("dataset") == DEFAULT_DATASET else f" --dataset {record.get('dataset')}"
        options += "" if network == DEFAULT_ENCODER else f" --encoder {network}"
        return f"`python -m protocols.{protocol} --method {record['method']}{options} --checkpoint random`"

    def ran_as(r: dict) -> list[str]:
        return [] if r["method"] == record["method"] else [f"run as {r['method']}"]

    parts = []
    if (record.get("checkpoint") or {}).get("source") != "random":
        floor = newest_per_seed(record["protocol"], record["stream"], same_probe=True)
        if floor:
            values = [r["metrics"]["top1"] for r in floor]
            notes = [f"{len(values)} init seeds"] if len(values) > 1 else []
            notes += ran_as(floor[-1])
            figure = f"{mean(values):.2f} ± {stdev(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"
            parts.append(f"random init {figure}" + (f" ({', '.join(notes)})" if notes else ""))
        else:
            parts.append(f"random init not run ({command(record['protocol'])})")
    supervised = newest_per_seed("finetune", record["stream"])
    r = supervised[-1] if supervised else None
    if r:
        cfg = r.get("protocol_config") or {}
        augmented = [f"{cfg['augment']} augmentation"] if cfg.get("augment") not in (None, "none") else []
        if cfg.get("batch_size") not in (None, cfg.get("official_batch_size", cfg.get("batch_size"))):
            augmented.append(f"batch {cfg['batch_size']}")
        notes = [f"{cfg.get('epochs')} epochs", *augmented, *ran_as(r)]
        parts.append(f"supervised {r['metrics']['top1']:.2f} ({', '.join(notes)})")
    else:
        parts.append(f"supervised not run ({command('finetune')})")
    return f"references on these data: {', '.join(parts)}"


def summary_line(record: dict) -> str:
    """The one-line summary every protocol prints last."""
    m = record["metrics"]
    tag = " [synthetic data]" if record.get("synthetic") else ""
    if "top1" not in m:  # a report of several figures (the difficulty protocol): each scalar or mean
        figures = ", ".join(f"{k} {v['mean'] if isinstance(v, dict) and 'mean' in v else v}"
                            for k, v in m.items() if isinstance(v, (int, float)) or (isinstance(v, dict) and "mean" in v))
        return f"{record['protocol']} {record['dataset']}: {figures} | {record['wall_s']:.0f}s on {record['device']}{tag}"
    best = f" (best {m['best_top1']:.2f} @ {m['best_epoch']})" if "best_top1" in m else ""
    method = record["method"] + variant_label(record.get("variant"))
    return (f"{record['protocol']} {method} {record['dataset']} {record['stream']}: "
            f"top1 {m['top1']:.2f}{best} top5 {m['top5']:.2f} | checkpoint {record['checkpoint']['source']} "
            f"| {record['wall_s']:.0f}s on {record['device']}{tag}")
