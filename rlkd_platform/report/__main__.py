"""``python -m rlkd_platform.report ablation=NAME [key=value ...]``: rebuild a table from MLflow."""
from rlkd_platform.report.build import main

raise SystemExit(main())
