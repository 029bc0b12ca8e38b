"""ML datasets: SQL models (`sql_models`, from `dbt_like_sql/`), daily dataset `partitions`
(Parquet + CSV + manifest, local or S3, written by `tabular_writer`), the admin `ml_dump`,
label metrics (`labels`) and their `charts`.
"""

from everreach.datasets.charts import label_chart_parts, label_chart_png
from everreach.datasets.labels import (
    LabelValue,
    compute_labels,
    dislike_rates,
    label_history,
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
    PartitionCounts,
    count_partition,
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
    "EXPORT_FORMATS",
    "MAX_EXPORT_DAYS",
    "SCHEMA",
    "DatasetStore",
    "ExportRequest",
    "LabelValue",
    "PartitionCounts",
    "SqlModel",
    "Window",
    "compute_labels",
    "count_partition",
    "dislike_rates",
    "export_file_blocks",
    "export_ml_dump",
    "label_chart_parts",
    "label_chart_png",
    "label_history",
    "load_models",
    "materialize",
    "partition_parts",
    "pii_findings",
    "presigner",
    "preview_rows",
    "qualified",
    "store_from_settings",
    "store_labels",
    "write_partition",
]
