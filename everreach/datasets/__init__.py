"""ML datasets: SQL models (`sql_models`, from `dbt_like_sql/`), daily dataset `partitions`
(Parquet + CSV + manifest, local or S3, written by `tabular_writer`), the admin `ml_dump`,
label metrics (`labels`) and their `charts`.
"""

from everreach.datasets.alerts import (
    ALERTS,
    DISLIKE_RATE,
    Alert,
    Verdict,
    breach_subject,
    breaches_on,
    judge,
    notification_once,
    recent_verdicts,
    store_verdicts,
    unsent_breaches,
)
from everreach.datasets.charts import label_chart_parts, label_chart_png
from everreach.datasets.labels import (
    LabelValue,
    compute_labels,
    dislike_rates,
    label_history,
    label_values,
    store_labels,
)
from everreach.datasets.ml_dump import MAX_DAYS as MAX_EXPORT_DAYS
from everreach.datasets.ml_dump import (
    ExportRequest,
    export_file_blocks,
    export_ml_dump,
)
from everreach.datasets.partitions import (
    DatasetStore,
    Manifest,
    PartitionCounts,
    count_partition,
    data_days,
    model_rows_by_day,
    partition_parts,
    pii_findings,
    presigner,
    preview_rows,
    store_from_settings,
    write_partition,
)
from everreach.datasets.sql_models import (
    SCHEMA,
    SqlModel,
    Window,
    load_models,
    materialize,
    qualified,
)
from everreach.datasets.tabular_writer import FORMATS as EXPORT_FORMATS

__all__ = [
    "ALERTS",
    "DISLIKE_RATE",
    "EXPORT_FORMATS",
    "MAX_EXPORT_DAYS",
    "SCHEMA",
    "Alert",
    "DatasetStore",
    "ExportRequest",
    "LabelValue",
    "Manifest",
    "PartitionCounts",
    "SqlModel",
    "Verdict",
    "Window",
    "breach_subject",
    "breaches_on",
    "compute_labels",
    "count_partition",
    "data_days",
    "dislike_rates",
    "export_file_blocks",
    "export_ml_dump",
    "judge",
    "label_chart_parts",
    "label_chart_png",
    "label_history",
    "label_values",
    "load_models",
    "materialize",
    "model_rows_by_day",
    "notification_once",
    "partition_parts",
    "pii_findings",
    "presigner",
    "preview_rows",
    "qualified",
    "recent_verdicts",
    "store_from_settings",
    "store_labels",
    "store_verdicts",
    "unsent_breaches",
    "write_partition",
]
